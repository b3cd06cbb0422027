/**
 * MoE routing as mlx-lm `Qwen3NextSparseMoeBlock` (ml-explore/mlx-lm `mlx_lm/models/qwen3_next.py`, also used
 * by `qwen3_5.py`): p = softmax(router logits) over ALL experts; the k largest p; their weights divided by
 * their sum when `norm_topk_prob` (Qwen3.5/3.6: mlx-lm's default true; Qwen3-Next: the config's value).
 *
 * Ties: mlx-lm takes `mx.argpartition(p, kth=-k)[..., -k:]`, whose order among equal values is unspecified
 * (MLX's CPU backend uses std::nth_element). This reference makes it deterministic: larger p first, and
 * among equal p the LOWER expert index wins. The weights of tied experts are equal, so only which expert
 * fills the last slot depends on the rule.
 */
import { softmax } from './ops';

export interface Route {
  experts: number[];
  weights: number[];
}

export function routeTopK(routerLogits: ArrayLike<number>, k: number, renormalize: boolean): Route {
  const p = softmax(routerLogits);
  const order = Array.from(p, (_, i) => i).sort((a, b) => (p[b] !== p[a] ? p[b] - p[a] : a - b));
  const experts = order.slice(0, k);
  let weights = experts.map((e) => p[e]);
  if (renormalize) {
    const s = weights.reduce((x, y) => x + y, 0);
    weights = weights.map((w) => w / s);
  }
  return { experts, weights };
}
