// DOMException of dom-exception.ts against Node's own.

import { describe, expect, test } from 'vitest';
import { DOMException } from './dom-exception.js';

const NodeDOMException = globalThis.DOMException;

const NAMES = [
  'IndexSizeError', 'HierarchyRequestError', 'WrongDocumentError', 'InvalidCharacterError',
  'NoModificationAllowedError', 'NotFoundError', 'NotSupportedError', 'InUseAttributeError',
  'InvalidStateError', 'SyntaxError', 'InvalidModificationError', 'NamespaceError', 'InvalidAccessError',
  'TypeMismatchError', 'SecurityError', 'NetworkError', 'AbortError', 'URLMismatchError',
  'QuotaExceededError', 'TimeoutError', 'InvalidNodeTypeError', 'DataCloneError', 'EncodingError',
  'NotReadableError', 'OperationError', 'DataError', 'ValidationError', 'DOMStringSizeError', 'Error', 'whatever',
];

describe('DOMException', () => {
  test('name, message and code agree with Node for every name', () => {
    for (const name of NAMES) {
      const ours = new DOMException('msg', name);
      const node = new NodeDOMException('msg', name);
      expect([ours.name, ours.message, ours.code, String(ours)]).toEqual([node.name, node.message, node.code, String(node)]);
    }
  });

  test('defaults and argument conversion', () => {
    const e = new DOMException();
    expect([e.name, e.message, e.code]).toEqual(['Error', '', 0]);
    expect(new DOMException(undefined, undefined).name).toBe('Error');
    expect(new DOMException(12 as unknown as string, null as unknown as string).name).toBe('null');
    expect(new DOMException(12 as unknown as string).message).toBe('12');
    const withCause = new DOMException('m', { name: 'AbortError', cause: 'why' });
    expect([withCause.name, withCause.code, (withCause as { cause?: unknown }).cause]).toEqual(['AbortError', 20, 'why']);
    expect(new DOMException('m', {}).name).toBe('Error');
    expect('cause' in new DOMException('m', 'AbortError')).toBe(false);
  });

  test('is an Error with a stack whose first line names it', () => {
    const e = new DOMException('went wrong', 'AbortError');
    expect(e).toBeInstanceOf(Error);
    expect(e).toBeInstanceOf(DOMException);
    expect(e.stack!.split('\n')[0]).toBe('AbortError: went wrong');
    expect(e.stack).toContain('dom-exception.test.ts');
    expect(Object.prototype.toString.call(e)).toBe('[object DOMException]');
    expect(DOMException.name).toBe('DOMException');
  });

  test('name, message and code are prototype getters, as in Node', () => {
    const ours = new DOMException('m', 'AbortError');
    const node = new NodeDOMException('m', 'AbortError');
    expect(Object.getOwnPropertyNames(ours)).toEqual(Object.getOwnPropertyNames(node));
    expect(Object.keys(ours)).toEqual([]);
    for (const key of ['name', 'message', 'code']) {
      const desc = Object.getOwnPropertyDescriptor(DOMException.prototype, key)!;
      expect(typeof desc.get).toBe('function');
      expect(desc.enumerable).toBe(true);
      expect(() => desc.get!.call({})).toThrow(TypeError);
    }
  });

  test('the legacy constants, on the constructor and the prototype', () => {
    const keys = Object.keys(NodeDOMException).filter((k) => /_ERR$/.test(k));
    expect(keys.length).toBe(25);
    for (const key of keys) {
      const want = (NodeDOMException as unknown as Record<string, number>)[key];
      expect((DOMException as unknown as Record<string, number>)[key]).toBe(want);
      expect((new DOMException() as unknown as Record<string, number>)[key]).toBe(want);
    }
    expect(DOMException.ABORT_ERR).toBe(20);
    expect(new DOMException().DATA_CLONE_ERR).toBe(25);
    expect(() => { (DOMException as unknown as Record<string, number>).ABORT_ERR = 1; }).toThrow(TypeError);
  });
});
