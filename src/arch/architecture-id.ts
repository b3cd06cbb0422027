/** The model families mtpkit knows, by their canonical `model_type`. */
export type Architecture = 'qwen3_5' | 'qwen3_5_moe' | 'qwen3_next';
