/** Name patterns shared by inspection, sanitize and policies. */

/** MTP head tensors, in HF (`mtp.`), MLX inline (`language_model.mtp.`) or sidecar (`mtp.`) form. */
export function isMtpTensor(name: string): boolean {
  return name.startsWith('mtp.') || name.startsWith('language_model.mtp.');
}

/** Vision tower tensors (HF `model.visual.`, MLX `vision_tower.`). */
export function isVisionTensor(name: string): boolean {
  return name.startsWith('model.visual.') || name.startsWith('vision_tower.') || name.startsWith('visual.');
}
