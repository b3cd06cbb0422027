/**
 * The smoke prompt set: code, prose and a chat turn (through the artifact's chat template), or the
 * prompts of a user file (one per line; a JSON array of strings also works).
 */
import { promises as fsp } from 'fs';
import { InputError } from '../errors';
import { loadTokenizer } from '../runtime/text/tokenizer';

export interface SmokePrompt {
  name: string;
  ids: number[];
}

export const BUILTIN_PROMPTS: readonly { name: string; text: string; chat?: boolean }[] = [
  { name: 'code', text: 'def fibonacci(n):\n    """Return the n-th Fibonacci number."""\n    a, b = 0, 1\n    for _ in range(n):\n' },
  { name: 'prose', text: 'The river wound slowly through the valley, and on its banks the old mill still turned' },
  { name: 'chat', text: 'Explain in two sentences why the sky is blue.', chat: true },
];

export async function readPromptFile(file: string): Promise<{ name: string; text: string }[]> {
  const text = await fsp.readFile(file, 'utf8').catch((e: Error) => {
    throw new InputError(`cannot read the prompt file (${e.message})`, { file });
  });
  let list: string[];
  if (text.trimStart().startsWith('[')) {
    const parsed = JSON.parse(text);
    if (!Array.isArray(parsed) || !parsed.every((p) => typeof p === 'string')) throw new InputError('a JSON prompt file must be an array of strings', { file });
    list = parsed;
  } else {
    list = text.split('\n').filter((l) => l.trim());
  }
  if (!list.length) throw new InputError('the prompt file holds no prompt', { file });
  return list.map((t, i) => ({ name: `prompt-${i + 1}`, text: t }));
}

/** Tokenized prompts and the artifact's end-of-sequence ids. */
export async function smokePrompts(artifactDir: string, promptFile?: string): Promise<{ prompts: SmokePrompt[]; eosTokenIds: number[] }> {
  const codec = await loadTokenizer(artifactDir);
  const source = promptFile ? await readPromptFile(promptFile) : BUILTIN_PROMPTS;
  const prompts = source.map((p) => {
    const chat = 'chat' in p && p.chat;
    const text = chat ? codec.applyChatTemplate([{ role: 'user', content: p.text }], { addGenerationPrompt: true }) : p.text;
    const ids = codec.encode(text);
    if (!ids.length) throw new InputError(`prompt '${p.name}' encodes to no tokens`);
    return { name: p.name, ids };
  });
  return { prompts, eosTokenIds: codec.eosTokenIds };
}
