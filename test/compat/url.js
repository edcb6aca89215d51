// URL parsing (WHATWG URL): the components of tricky URLs — IDN, IPv6/IPv4 forms, percent-encoding,
// relative resolution against a base, opaque paths, errors — and URLSearchParams sorting and
// mutation. Cases come from the query (?u=…&base=…) or a JSON body [{input, base?}], else a
// built-in list.

const FIELDS = ['href', 'origin', 'protocol', 'username', 'password', 'host', 'hostname', 'port', 'pathname', 'search', 'hash'];

function parse(input, base) {
  try {
    const u = base === undefined ? new URL(input) : new URL(input, base);
    const out = { input };
    if (base !== undefined) out.base = base;
    for (const f of FIELDS) out[f] = u[f];
    out.params = [...u.searchParams];
    out.json = u.toJSON();
    return out;
  } catch (e) {
    return { input, base, error: e.name };
  }
}

const BUILT_IN = [
  ['https://EXAMPLE.com:443/a/./b/../c?x=1#frag'],
  ['HTTP://Example.COM:80/%7Efoo/%2e%2E/bar'],
  ['https://user:pa ss@host.example:8443/p?q=a b#h i'],
  ['https://münchen.de/straße?ä=ö#ü'],
  ['https://xn--mnchen-3ya.de/'],
  ['https://日本語.jp/パス'],
  ['https://EXAMPLE.ÇOM/'],
  ['http://[::1]:3000/x'],
  ['http://[2001:DB8:0:0:0:0:0:1]/'],
  ['http://[::ffff:192.168.0.1]/'],
  ['http://0x7f.1/'],
  ['http://127.1/'],
  ['http://999.1.1.1/'],
  ['http://[::1/'],
  ['../x?y#z', 'http://a/b/c/d;p?q'],
  ['//other.host/p', 'https://a.example/b'],
  ['?only', 'http://a/b/c?old#h'],
  ['#only', 'http://a/b/c?old#h'],
  ['/abs/../path', 'http://a/b/c'],
  ['', 'http://a/b?c#d'],
  ['g:h', 'http://a/b'],
  ['relative'],
  ['http://'],
  ['not a url'],
  ['file:///C:/path/to%20file.txt'],
  ['file://host/share/x'],
  ['data:text/plain,hello world'],
  ['mailto:Someone@Example.com?subject=hi'],
  ['javascript:alert(1)'],
  ['blob:https://example.com/uuid'],
  ['https://example.com/a%2Fb/c%zz?%41=%42'],
  ['https://example.com/?q=a+b&r=%20&s=\u00e9&t=<>"`'],
  ['  https://trim.example/  '],
  ['https://example.com:65536/'],
  ['https://example.com:0/'],
  ['ws://example.com:80/chat'],
  ['wss://example.com:443/chat'],
  ['ftp://example.com:21/file'],
  ['https://a.example/\\back\\slash'],
  ['https://a.example/tab\there'],
];

function searchParamsOps() {
  const u = new URL('https://h.example/p?b=2&a=1&c=3&a=0&space=a+b&pct=%26%3D');
  const p = u.searchParams;
  const steps = [['initial', [...p], p.toString(), p.size]];
  p.sort();
  steps.push(['sorted', u.search]);
  p.append('new', 'x y&z');
  steps.push(['append', u.search, u.href]);
  p.set('a', 'only');
  steps.push(['set', u.search]);
  p.delete('b');
  steps.push(['delete', u.search]);
  p.append('c', '4');
  p.delete('c', '3');
  steps.push(['delete-value', u.search, p.has('c'), p.has('c', '3'), p.has('c', '4')]);
  u.search = '?replaced=1';
  steps.push(['search-setter', [...p]]);
  const fromObj = new URLSearchParams({ z: '1', y: 'ü', x: '' });
  const fromPairs = new URLSearchParams([['k', 'v1'], ['k', 'v2']]);
  const fromString = new URLSearchParams('?a=1&&b=&c&=d&e=%zz&f=%E2%9C%93');
  steps.push(['constructed', fromObj.toString(), fromPairs.getAll('k'), [...fromString], fromString.toString()]);
  const unsorted = new URLSearchParams('z=1&é=2&a=3&A=4&a=5&😀=6&ｚ=7');
  unsorted.sort();
  steps.push(['sort-utf16', [...unsorted.keys()]]);
  // USVString arguments: lone surrogates become U+FFFD as they go in.
  const lone = 'a\ud800b\udc00';
  const usv = new URLSearchParams([[lone, lone]]);
  usv.append(lone, 'x');
  steps.push(['usv', [...usv].map(([k, v]) => [k.codePointAt(1), v.codePointAt(3)]), usv.getAll('a\ufffdb\ufffd').length, usv.toString()]);
  return steps;
}

function mutations() {
  const u = new URL('https://user@example.com:8080/a?x=1#h');
  const steps = [];
  const step = (label, fn) => { try { fn(); } catch (e) { steps.push([label, 'threw ' + e.name]); return; } steps.push([label, u.href]); };
  step('pathname', () => { u.pathname = '/new path/ü'; });
  step('search', () => { u.search = 'q=ä b'; });
  step('hash', () => { u.hash = 'frag ment'; });
  step('port-default', () => { u.port = '443'; });
  step('port-bad', () => { u.port = 'abc'; });
  step('hostname', () => { u.hostname = 'Other.EXAMPLE'; });
  step('host', () => { u.host = 'h.example:9000'; });
  step('username', () => { u.username = 'a b'; });
  step('password', () => { u.password = 'p@ss'; });
  step('protocol-http', () => { u.protocol = 'http'; });
  step('protocol-mailto', () => { u.protocol = 'mailto'; });
  step('href', () => { u.href = 'https://reset.example/'; });
  step('href-bad', () => { u.href = 'not a url'; });
  steps.push(['canParse', URL.canParse('https://x'), URL.canParse('x'), URL.canParse('x', 'https://b/')]);
  steps.push(['toString', String(new URL('HTTPS://A.example')), JSON.stringify({ u: new URL('https://j.example/?a') })]);
  return steps;
}

export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === '/parse') {
      let cases;
      if (request.method === 'POST') {
        cases = (await request.json()).map((c) => [c.input, c.base]);
      } else if (url.searchParams.has('u')) {
        const base = url.searchParams.get('base') ?? undefined;
        cases = url.searchParams.getAll('u').map((u) => [u, base]);
      } else {
        cases = BUILT_IN;
      }
      return Response.json(cases.map(([input, base]) => parse(input, base)));
    }
    if (url.pathname === '/search-params') return Response.json(searchParamsOps());
    if (url.pathname === '/mutate') return Response.json(mutations());
    return new Response('not found', { status: 404 });
  },
};
