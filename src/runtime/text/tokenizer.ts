/**
 * The artifact's tokenizer through maintained libraries: `tokenizer.json` with @huggingface/tokenizers
 * (no hand-written BPE) and chat templates (tokenizer_config.json `chat_template` or
 * chat_template.jinja) rendered with @huggingface/jinja.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Tokenizer } from '@huggingface/tokenizers';
import { Template } from '@huggingface/jinja';
import { InputError } from '../../errors';

export interface ChatMessage {
  role: string;
  content: string;
}

export interface ChatTemplateOptions {
  /** Append the assistant turn opener (default true). */
  addGenerationPrompt?: boolean;
  /** Extra template variables (e.g. `enable_thinking`). */
  extra?: Record<string, unknown>;
}

export interface TextCodec {
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
  applyChatTemplate(messages: ChatMessage[], opts?: ChatTemplateOptions): string;
  /** Ids that end generation (generation_config / config eos_token_id, tokenizer eos_token). */
  eosTokenIds: number[];
}

type Json = Record<string, unknown>;

function readJson(file: string, required: boolean): Json | undefined {
  if (!fs.existsSync(file)) {
    if (required) throw new InputError('missing: the artifact needs it to turn text into token ids', { file });
    return undefined;
  }
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Json;
  } catch (e) {
    throw new InputError(`invalid JSON (${(e as Error).message})`, { file });
  }
}

const ids = (v: unknown): number[] => (typeof v === 'number' ? [v] : Array.isArray(v) ? v.filter((x): x is number => typeof x === 'number') : []);
const tokenText = (v: unknown): string | undefined => (typeof v === 'string' ? v : v && typeof (v as Json).content === 'string' ? ((v as Json).content as string) : undefined);

function chatTemplateSource(dir: string, config: Json): string | undefined {
  const jinja = path.join(dir, 'chat_template.jinja');
  if (fs.existsSync(jinja)) return fs.readFileSync(jinja, 'utf8');
  const t = config.chat_template;
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) {
    const named = t.find((x) => x && (x as Json).name === 'default') ?? t[0];
    if (named && typeof (named as Json).template === 'string') return (named as Json).template as string;
  }
  return undefined;
}

export async function loadTokenizer(artifactDir: string): Promise<TextCodec> {
  const tokFile = path.join(artifactDir, 'tokenizer.json');
  const tokJson = readJson(tokFile, true)!;
  const tokConfig = readJson(path.join(artifactDir, 'tokenizer_config.json'), false) ?? {};
  let tokenizer: Tokenizer;
  try {
    tokenizer = new Tokenizer(tokJson, tokConfig);
  } catch (e) {
    throw new InputError(`cannot build the tokenizer: ${(e as Error).message}`, { file: tokFile });
  }

  const added = Array.isArray(tokJson.added_tokens) ? (tokJson.added_tokens as Json[]) : [];
  const idOf = (text: string | undefined): number[] => {
    if (text === undefined) return [];
    const hit = added.find((t) => t.content === text);
    return hit && typeof hit.id === 'number' ? [hit.id] : [];
  };
  const gen = readJson(path.join(artifactDir, 'generation_config.json'), false) ?? {};
  const config = readJson(path.join(artifactDir, 'config.json'), false) ?? {};
  const text = (config.text_config as Json | undefined) ?? config;
  const eosTokenIds = [...new Set([...ids(gen.eos_token_id), ...ids(text.eos_token_id), ...ids(config.eos_token_id), ...idOf(tokenText(tokConfig.eos_token))])];

  const templateSource = chatTemplateSource(artifactDir, tokConfig);
  let template: Template | undefined;
  return {
    eosTokenIds,
    encode: (s) => tokenizer.encode(s, { add_special_tokens: true }).ids,
    decode: (list) => tokenizer.decode([...list], { skip_special_tokens: false }),
    applyChatTemplate(messages, opts = {}) {
      if (templateSource === undefined) {
        throw new InputError('the artifact has no chat template (tokenizer_config.json chat_template or chat_template.jinja)', { file: artifactDir });
      }
      try {
        template ??= new Template(templateSource);
        return template.render({
          messages,
          add_generation_prompt: opts.addGenerationPrompt ?? true,
          bos_token: tokenText(tokConfig.bos_token) ?? '',
          eos_token: tokenText(tokConfig.eos_token) ?? '',
          ...opts.extra,
        });
      } catch (e) {
        throw new InputError(`cannot render the chat template: ${(e as Error).message}`, { file: artifactDir, field: 'chat_template' });
      }
    },
  };
}
