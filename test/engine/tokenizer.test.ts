/** The artifact tokenizer through @huggingface/tokenizers and @huggingface/jinja, offline on the fixtures. */
import * as fs from 'fs';
import * as path from 'path';
import { InputError } from '../../src/errors';
import { loadTokenizer } from '../../src/runtime/text/tokenizer';
import { FIXTURES, tempDir } from './engine-artifacts';

const dir = path.join(FIXTURES, 'qwen35-dense');
const tokJson = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8'));
const idOf = (content: string): number => tokJson.added_tokens.find((t: { content: string }) => t.content === content).id;

test('encode / decode round-trip text, and every id is in the vocabulary', async () => {
  const t = await loadTokenizer(dir);
  for (const s of ['Hello world, this is a test.', 'naïve café — 42', '  two  spaces\nand a newline']) {
    const ids = t.encode(s);
    expect(ids.length).toBeGreaterThan(0);
    expect(ids.every((i) => Number.isInteger(i) && i >= 0 && i < 384)).toBe(true);
    expect(t.decode(ids)).toBe(s);
  }
});

test('special tokens encode to their added-token ids', async () => {
  const t = await loadTokenizer(dir);
  expect(t.encode('<|im_start|>')).toEqual([idOf('<|im_start|>')]);
  expect(t.eosTokenIds).toContain(idOf('<|im_end|>'));
});

test('the chat template renders the messages and the generation prompt', async () => {
  const t = await loadTokenizer(dir);
  const out = t.applyChatTemplate([
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'Hi' },
  ]);
  expect(out).toBe('<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n');
  expect(t.applyChatTemplate([{ role: 'user', content: 'Hi' }], { addGenerationPrompt: false })).toBe('<|im_start|>user\nHi<|im_end|>\n');
});

test('chat_template.jinja wins over tokenizer_config.json; no tokenizer.json is an InputError', async () => {
  const tmp = tempDir('tok');
  try {
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) fs.copyFileSync(path.join(dir, f), path.join(tmp, f));
    fs.writeFileSync(path.join(tmp, 'chat_template.jinja'), '{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}');
    const t = await loadTokenizer(tmp);
    expect(t.applyChatTemplate([{ role: 'user', content: 'x' }])).toBe('[user]x');
    fs.rmSync(path.join(tmp, 'tokenizer.json'));
    await expect(loadTokenizer(tmp)).rejects.toBeInstanceOf(InputError);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
