/** Non-tensor files an artifact carries over from its source checkpoint (tokenizer, templates, ...). */
export const COPIED_ASSETS: readonly string[] = [
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'added_tokens.json',
  'vocab.json',
  'merges.txt',
  'chat_template.jinja',
  'chat_template.json',
  'generation_config.json',
  'preprocessor_config.json',
  'video_preprocessor_config.json',
  'LICENSE',
];
