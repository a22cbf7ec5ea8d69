/**
 * Parses `WWW-Authenticate` headers (RFC 9110 §11.6.1): one or more challenges,
 * each a scheme followed by `name=value` parameters whose values may be quoted
 * strings holding commas and escaped quotes. A registry's Bearer challenge looks
 * like `Bearer realm="https://auth.example.com/token",service="registry",
 * scope="repository:team/web:pull,push"` — the comma inside `scope` is why a
 * split on commas is not enough.
 */

/** One challenge: the scheme lowercased, parameter names lowercased, values unquoted. */
export interface AuthChallenge {
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

const TOKEN_CHAR = /[!#$%&'*+.^_`|~0-9A-Za-z-]/;

/** Parses a header value into its challenges; malformed trailing input is ignored. */
export function parseWwwAuthenticate(header: string): AuthChallenge[] {
  const challenges: AuthChallenge[] = [];
  let pos = 0;
  const skip = (chars: string): void => { while (pos < header.length && chars.includes(header[pos]!)) pos += 1; };
  const readToken = (): string => {
    const start = pos;
    while (pos < header.length && TOKEN_CHAR.test(header[pos]!)) pos += 1;
    return header.slice(start, pos);
  };
  const readBareValue = (): string => {
    const start = pos;
    while (pos < header.length && header[pos] !== ',' && header[pos] !== ' ' && header[pos] !== '\t') pos += 1;
    return header.slice(start, pos);
  };
  const readQuoted = (): string => {
    pos += 1; // opening quote
    let out = '';
    while (pos < header.length && header[pos] !== '"') {
      if (header[pos] === '\\' && pos + 1 < header.length) pos += 1;
      out += header[pos];
      pos += 1;
    }
    pos += 1; // closing quote (or end of input)
    return out;
  };

  for (;;) {
    skip(' \t,');
    if (pos >= header.length) break;
    const scheme = readToken();
    if (!scheme) {
      // Not a token (stray quote or separator): skip to the next comma.
      while (pos < header.length && header[pos] !== ',') pos += 1;
      continue;
    }
    const params: Record<string, string> = {};
    challenges.push({ scheme: scheme.toLowerCase(), params });
    for (;;) {
      const save = pos;
      skip(' \t');
      const name = readToken();
      skip(' \t');
      if (!name || header[pos] !== '=') {
        // Not a parameter: the next challenge's scheme starts here.
        pos = save;
        break;
      }
      pos += 1;
      skip(' \t');
      if (pos >= header.length || header[pos] === ',' || header[pos] === '=') {
        // token68 (`Negotiate abc==`): the name was the token, these are its padding.
        let padding = '=';
        while (header[pos] === '=') { padding += '='; pos += 1; }
        params.token68 = name + padding;
      } else {
        params[name.toLowerCase()] = header[pos] === '"' ? readQuoted() : readBareValue();
      }
      skip(' \t');
      if (header[pos] !== ',') break;
      pos += 1;
    }
  }
  return challenges;
}
