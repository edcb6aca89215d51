// Extra "url": URL and URLSearchParams (core-js-pure's, ~52 KB of script), loaded by lazy.ts the
// first time a function touches either. The module initialises on the isolate's thread, after the
// host's load returned (register.ts).

import { registerExtra } from './register.js';

declare const require: (id: string) => unknown;

registerExtra(() => require('../web/url.js'));
