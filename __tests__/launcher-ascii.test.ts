import { createRequire } from 'node:module';
import { runInNewContext } from 'node:vm';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './support/synth';

/** The launcher writes every compiled file in ASCII where that is the same program (V8 reads ASCII as it is, anything else decoded). */
const { inAscii } = createRequire(__filename)(`${REPO_ROOT}/.ci/launch.cjs`) as { inAscii(text: string, fileName: string, typescript: typeof ts): string | undefined };

function evaluate(text: string): unknown {
  const module = { exports: {} as unknown };
  runInNewContext(text, { module });
  return module.exports;
}

describe('the launcher writes JavaScript in ASCII (inAscii)', () => {
  const same: Record<string, string> = {
    'a string': 'module.exports = "caf\u00e9 \u2192 \u{1F600}";',
    'a template, with a substitution': 'module.exports = `\u00e9${1 + 1}\u00fc`;',
    'a regular expression, astral, with and without u': "module.exports = [/^\u{1F600}$/u.test('\u{1F600}'), /^..$/.test('\u{1F600}'), /[\u00e0-\u00ff]/.test('\u00e9')];",
    'a name': 'const caf\u00e9 = 2; const \u{10400} = 3; module.exports = caf\u00e9 + \u{10400};',
    'a no-break space between tokens': 'module.exports = 1 +\u00a02;',
    'a line separator, which ends a line comment': 'module.exports = 1;\n// a comment\u2028module.exports = 7;',
    'a comment': '/* \u00e9t\u00e9 \u2014 \u{1F600} */ module.exports = 5;',
  };
  for (const [what, text] of Object.entries(same)) {
    it(`${what}: ASCII, and the same value`, () => {
      const ascii = inAscii(text, 'x.js', ts)!;
      expect(ascii).toMatch(/^[\x00-\x7f]*$/);
      expect(evaluate(ascii)).toEqual(evaluate(text));
    });
  }

  it("leaves what an escape would change as it is: a tagged template's raw text", () => {
    expect(inAscii('module.exports = String.raw`\u00e9`;', 'x.js', ts)).toBeUndefined();
  });

  it('returns ASCII as it is', () => {
    const text = 'module.exports = "plain";';
    expect(inAscii(text, 'x.js', ts)).toBe(text);
  });
});
