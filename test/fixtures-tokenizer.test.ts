/**
 * The fixtures' tokenizer.json is a valid byte-level BPE in the Hugging Face `tokenizers` format.
 * Checked with a small BPE encoder written here (not the generator's code): every byte has a symbol,
 * every merge is made of vocabulary tokens, and encode/decode round-trips arbitrary UTF-8.
 */
import { readFileSync } from 'fs';
import * as path from 'path';

const FIXTURES = path.resolve(__dirname, '..', 'fixtures');
const VARIANTS = ['qwen35-dense-tied', 'qwen35-dense', 'qwen35-moe', 'qwen36-moe', 'qwen35-stripped', 'qwen3-next'];

type Json = Record<string, any>;

/** GPT-2 byte -> unicode symbol table, written from its definition. */
function byteToSymbol(): string[] {
  const table: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    table[b] = String.fromCodePoint(printable ? b : 256 + extra++);
  }
  return table;
}

class Bpe {
  readonly vocab: Map<string, number>;
  readonly idToToken: Map<number, string>;
  readonly ranks = new Map<string, number>();
  readonly b2s = byteToSymbol();
  readonly s2b = new Map(this.b2s.map((s, b) => [s, b]));
  readonly specials: Map<string, number>;
  readonly splitRe: RegExp;

  constructor(tok: Json) {
    this.vocab = new Map(Object.entries<number>(tok.model.vocab));
    this.idToToken = new Map([...this.vocab].map(([t, i]) => [i, t]));
    tok.model.merges.forEach((m: string | string[], i: number) => this.ranks.set(Array.isArray(m) ? m.join(' ') : m, i));
    this.specials = new Map(tok.added_tokens.map((t: Json) => [t.content, t.id]));
    for (const [c, id] of this.specials) this.idToToken.set(id, c);
    // The stored Oniguruma pattern, with its one case-insensitive group spelled out for JS.
    const pattern: string = tok.pre_tokenizer.pretokenizers[0].pattern.Regex;
    expect(pattern.startsWith("(?i:'s|'t|'re|'ve|'m|'ll|'d)|")).toBe(true);
    const rest = pattern.slice("(?i:'s|'t|'re|'ve|'m|'ll|'d)|".length);
    this.splitRe = new RegExp(`'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD]|${rest}`, 'gu');
  }

  private bpe(symbols: string[]): string[] {
    let parts = symbols;
    for (;;) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < parts.length; i++) {
        const r = this.ranks.get(`${parts[i]} ${parts[i + 1]}`);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) return parts;
      const [a, b] = [parts[best], parts[best + 1]];
      const next: string[] = [];
      for (let i = 0; i < parts.length; i++) {
        if (i + 1 < parts.length && parts[i] === a && parts[i + 1] === b) {
          next.push(a + b);
          i++;
        } else next.push(parts[i]);
      }
      parts = next;
    }
  }

  encode(text: string): number[] {
    const ids: number[] = [];
    const specialRe = new RegExp([...this.specials.keys()].map((s) => s.replace(/[|<>/]/g, '\\$&')).join('|'), 'g');
    let last = 0;
    const plain = (s: string) => {
      for (const piece of s.normalize('NFC').match(this.splitRe) ?? []) {
        const symbols = [...Buffer.from(piece, 'utf8')].map((b) => this.b2s[b]);
        for (const t of this.bpe(symbols)) {
          const id = this.vocab.get(t);
          if (id === undefined) throw new Error(`token ${t} not in vocab`);
          ids.push(id);
        }
      }
    };
    for (const m of text.matchAll(specialRe)) {
      plain(text.slice(last, m.index));
      ids.push(this.specials.get(m[0])!);
      last = m.index! + m[0].length;
    }
    plain(text.slice(last));
    return ids;
  }

  decode(ids: number[]): string {
    const bytes: number[] = [];
    let out = '';
    const flush = () => {
      out += Buffer.from(bytes).toString('utf8');
      bytes.length = 0;
    };
    for (const id of ids) {
      const t = this.idToToken.get(id)!;
      if ([...this.specials.values()].includes(id)) {
        flush();
        out += t;
      } else for (const ch of t) bytes.push(this.s2b.get(ch)!);
    }
    flush();
    return out;
  }
}

describe.each(VARIANTS)('tokenizer of %s', (variant) => {
  const tok: Json = JSON.parse(readFileSync(path.join(FIXTURES, variant, 'tokenizer.json'), 'utf8'));
  const tcfg: Json = JSON.parse(readFileSync(path.join(FIXTURES, variant, 'tokenizer_config.json'), 'utf8'));

  test('is a byte-level BPE with ids 0..n-1 and valid merges', () => {
    expect(tok.model.type).toBe('BPE');
    expect(tok.pre_tokenizer.type).toBe('Sequence');
    expect(tok.pre_tokenizer.pretokenizers.map((p: Json) => p.type)).toEqual(['Split', 'ByteLevel']);
    expect(tok.decoder.type).toBe('ByteLevel');
    const vocab = Object.entries<number>(tok.model.vocab);
    const ids = [...vocab.map(([, i]) => i), ...tok.added_tokens.map((t: Json) => t.id)].sort((a, b) => a - b);
    expect(ids).toEqual(ids.map((_, i) => i)); // dense, no duplicates
    const symbols = new Set(byteToSymbol());
    expect(vocab.filter(([t]) => symbols.has(t)).length).toBe(256);
    const inVocab = new Set(vocab.map(([t]) => t));
    expect(tok.model.merges.length).toBeGreaterThan(50);
    for (const m of tok.model.merges as string[]) {
      const [a, b] = m.split(' ');
      expect(inVocab.has(a) && inVocab.has(b) && inVocab.has(a + b)).toBe(true);
    }
  });

  test('encodes each of the 256 bytes and round-trips UTF-8 text', () => {
    const bpe = new Bpe(tok);
    for (let b = 0; b < 256; b++) {
      const id = bpe.vocab.get(bpe.b2s[b]);
      expect(id).toBeDefined();
      expect(bpe.decode([id!])).toBe(Buffer.from([b]).toString('utf8'));
    }
    const text = "<|im_start|>user\nThe converter's layers: 2048 + 4096!\n\tcafé 世界 🙂<|im_end|>\n";
    const ids = bpe.encode(text);
    expect(bpe.decode(ids)).toBe(text);
    // Merges really apply: fewer tokens than UTF-8 bytes outside the special tokens.
    const plain = 'the layers and the experts';
    expect(bpe.encode(plain).length).toBeLessThan(Buffer.byteLength(plain));
    expect(ids[0]).toBe(bpe.specials.get('<|im_start|>'));
  });

  test('tokenizer_config has a ChatML template and eos / pad tokens that exist', () => {
    const specials = new Set(tok.added_tokens.map((t: Json) => t.content));
    expect(specials.has(tcfg.eos_token)).toBe(true);
    expect(specials.has(tcfg.pad_token)).toBe(true);
    expect(tcfg.chat_template).toContain('<|im_start|>');
    expect(tcfg.chat_template).toContain('<|im_end|>');
    expect(tcfg.chat_template).toContain('add_generation_prompt');
    for (const [id, t] of Object.entries<Json>(tcfg.added_tokens_decoder)) {
      expect(tok.added_tokens.find((a: Json) => a.id === Number(id))?.content).toBe(t.content);
    }
  });
});
