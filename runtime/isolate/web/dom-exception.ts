// DOMException for bare V8 isolates (which have none), per WebIDL §DOMException:
// constructor(message = '', name = 'Error'); name, message and code are getters on the prototype
// (not own properties); code comes from the legacy error-names table (0 for names not in it);
// the 25 legacy constants (INDEX_SIZE_ERR … DATA_CLONE_ERR) are on the constructor and prototype.
// Like Node's, it is a subclass of Error whose instances carry V8's own `stack`. The second
// argument may also be an options object {name?, cause?} (current WebIDL, Node), `cause` becoming
// an own property.

// Legacy constant names; the code of each is its index + 1.
const LEGACY_CONSTANTS = [
  'INDEX_SIZE_ERR', 'DOMSTRING_SIZE_ERR', 'HIERARCHY_REQUEST_ERR', 'WRONG_DOCUMENT_ERR',
  'INVALID_CHARACTER_ERR', 'NO_DATA_ALLOWED_ERR', 'NO_MODIFICATION_ALLOWED_ERR', 'NOT_FOUND_ERR',
  'NOT_SUPPORTED_ERR', 'INUSE_ATTRIBUTE_ERR', 'INVALID_STATE_ERR', 'SYNTAX_ERR',
  'INVALID_MODIFICATION_ERR', 'NAMESPACE_ERR', 'INVALID_ACCESS_ERR', 'VALIDATION_ERR',
  'TYPE_MISMATCH_ERR', 'SECURITY_ERR', 'NETWORK_ERR', 'ABORT_ERR', 'URL_MISMATCH_ERR',
  'QUOTA_EXCEEDED_ERR', 'TIMEOUT_ERR', 'INVALID_NODE_TYPE_ERR', 'DATA_CLONE_ERR',
] as const;

type LegacyConstants = { readonly [K in (typeof LEGACY_CONSTANTS)[number]]: number };

// WebIDL's error names table: names that have a legacy code (codes 2, 6 and 16 have no name).
const CODES: { readonly [name: string]: number } = {
  __proto__: null as never,
  IndexSizeError: 1, HierarchyRequestError: 3, WrongDocumentError: 4, InvalidCharacterError: 5,
  NoModificationAllowedError: 7, NotFoundError: 8, NotSupportedError: 9, InUseAttributeError: 10,
  InvalidStateError: 11, SyntaxError: 12, InvalidModificationError: 13, NamespaceError: 14,
  InvalidAccessError: 15, TypeMismatchError: 17, SecurityError: 18, NetworkError: 19,
  AbortError: 20, URLMismatchError: 21, QuotaExceededError: 22, TimeoutError: 23,
  InvalidNodeTypeError: 24, DataCloneError: 25,
};

export interface DOMExceptionOptions { name?: string; cause?: unknown }

export interface DOMException extends LegacyConstants {}

export class DOMException extends Error {
  declare readonly name: string;
  declare readonly message: string;
  declare readonly code: number;
  declare static readonly INDEX_SIZE_ERR: number;
  declare static readonly INVALID_CHARACTER_ERR: number;
  declare static readonly NOT_FOUND_ERR: number;
  declare static readonly NOT_SUPPORTED_ERR: number;
  declare static readonly INVALID_STATE_ERR: number;
  declare static readonly SYNTAX_ERR: number;
  declare static readonly INVALID_ACCESS_ERR: number;
  declare static readonly TYPE_MISMATCH_ERR: number;
  declare static readonly SECURITY_ERR: number;
  declare static readonly NETWORK_ERR: number;
  declare static readonly ABORT_ERR: number;
  declare static readonly QUOTA_EXCEEDED_ERR: number;
  declare static readonly TIMEOUT_ERR: number;
  declare static readonly DATA_CLONE_ERR: number;

  #name: string;
  #message: string;

  constructor(message: unknown = '', nameOrOptions: unknown = 'Error') {
    // No argument to super(): `message` must not become an own property.
    super();
    this.#message = String(message);
    let name: unknown = nameOrOptions;
    if (nameOrOptions !== null && typeof nameOrOptions === 'object') {
      const options = nameOrOptions as DOMExceptionOptions;
      if ('cause' in options) {
        Object.defineProperty(this, 'cause', { value: options.cause, writable: true, configurable: true });
      }
      name = options.name === undefined ? 'Error' : options.name;
    }
    this.#name = String(name);
    // V8 formats `stack` lazily, on first read, so its first line shows this name and message.
  }

  static #get(self: DOMException, key: 'name' | 'message'): string {
    if (!(#name in self)) throw new TypeError('Illegal invocation');
    return key === 'name' ? self.#name : self.#message;
  }

  static {
    const proto = this.prototype;
    const accessors: PropertyDescriptorMap = {
      name: { get(this: DOMException) { return DOMException.#get(this, 'name'); } },
      message: { get(this: DOMException) { return DOMException.#get(this, 'message'); } },
      code: { get(this: DOMException) { return CODES[DOMException.#get(this, 'name')] ?? 0; } },
    };
    for (const key of ['name', 'message', 'code'] as const) {
      Object.defineProperty(proto, key, { ...accessors[key], enumerable: true, configurable: true });
    }
    LEGACY_CONSTANTS.forEach((key, i) => {
      const desc = { value: i + 1, enumerable: true, writable: false, configurable: false };
      Object.defineProperty(this, key, desc);
      Object.defineProperty(proto, key, desc);
    });
    Object.defineProperty(proto, Symbol.toStringTag, { value: 'DOMException', configurable: true });
    // Minifiers rename classes; keep the name user code sees.
    Object.defineProperty(this, 'name', { value: 'DOMException', configurable: true });
  }
}
