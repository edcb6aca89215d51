// The `encodings-cjk` extra: gbk, gb18030, shift_jis, euc-jp, iso-2022-jp, big5 and euc-kr, with
// their indexes, loaded into an isolate on the first TextDecoder made for one of them
// (web/encoding.ts). The single-byte encodings are the `encodings` extra's.

import { registerExtra } from './register.js';

declare const require: (id: string) => unknown;

registerExtra(() => require('../web/encodings/cjk.js'));
