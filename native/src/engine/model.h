// The loaded model: config, weights as views into memory-mapped files (QLinear), small float vectors
// (norms, conv taps, A_log, dt_bias) converted to fp32 at load. Built from a LoadPlan that the TS side
// has already validated (every tensor present with the shape the config implies).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "mapped_file.h"
#include "qlinear.h"
#include "thread_pool.h"

namespace mtpkit {
namespace engine {

enum class Arch : int { Qwen35 = 0, Qwen35Moe = 1, Qwen3Next = 2 };
// Element types of plan tensors.
enum class TDType : int { F32 = 0, F16 = 1, BF16 = 2, U32 = 3, U8 = 4 };

struct ModelConfig {
  Arch arch = Arch::Qwen35;
  int hidden = 0, vocab = 0, layers = 0;
  std::vector<int> layer_full;  // 1 = full attention, 0 = Gated DeltaNet
  std::vector<int> layer_moe;   // 1 = sparse MoE block, 0 = dense MLP
  int n_heads = 0, n_kv = 0, head_dim = 0, rot_dim = 0;
  double rope_theta = 1e7;
  float eps = 1e-6f;
  int nk = 0, nv = 0, dk = 0, dv = 0, conv_k = 4;
  int n_experts = 0, top_k = 0, moe_inter = 0, shared_inter = 0, inter = 0;
  bool norm_topk = true;
  bool tie = false;
  bool has_mtp = false;
  bool mtp_moe = false;
};

struct TensorRef {
  int file = -1;
  int64_t offset = 0;
  TDType dtype = TDType::F32;
  std::vector<int64_t> shape;
  int64_t numel() const {
    int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
  }
};

struct LinearRef {
  WFormat fmt = WFormat::F32;
  int bits = 0, group = 0;
  int64_t rows = 0, cols = 0;
  std::string w, scales, biases;  // tensor names ("" = none)
  ScaleType sdt = ScaleType::BF16;
};

struct LoadPlan {
  std::vector<std::string> files;
  int threads = 0;
  ModelConfig cfg;
  std::map<std::string, TensorRef> tensors;  // by canonical name (module path + suffix)
  std::map<std::string, LinearRef> linears;  // by canonical module path
  Activations act = Activations::Q8;          // activations of every affine linear (plan field `activations`)
};

struct AttnWeights {
  QLinear q, k, v, o;
  std::vector<float> q_norm, k_norm;
};

struct GdnWeights {
  bool grouped = false;  // Qwen3-Next: in_proj_qkvz / in_proj_ba grouped per key head
  QLinear qkv, z, b, a, qkvz, ba, out;
  std::vector<float> conv;  // [conv_dim][K]
  std::vector<float> A_log, dt_bias, norm;
};

struct MlpWeights {
  bool moe = false;
  QLinear gate, up, down;                   // dense
  QLinear router, e_gate, e_up, e_down;     // MoE: experts stacked, rows = E * N
  bool has_shared = false;
  QLinear s_gate, s_up, s_down, s_gate_w;   // shared expert + its scalar gate
};

struct LayerWeights {
  bool full = false;
  std::vector<float> in_norm, post_norm;
  AttnWeights attn;
  GdnWeights gdn;
  MlpWeights mlp;
};

struct Model {
  ModelConfig cfg;
  std::vector<std::unique_ptr<MappedFile>> files;
  std::vector<LayerWeights> layers;
  QLinear embed, head;  // head = embed when tied
  std::vector<float> final_norm;
  // MTP head
  QLinear mtp_fc;
  std::vector<float> mtp_pre_e, mtp_pre_h, mtp_norm;
  LayerWeights mtp_layer;

  std::unique_ptr<ThreadPool> pool;
  std::mutex run_mu;  // one forward at a time per model (the pool is shared)
  int64_t bytes_per_token = 0;

  int conv_dim() const { return 2 * cfg.nk * cfg.dk + cfg.nv * cfg.dv; }
};

// Maps the files and builds every view; throws std::runtime_error naming the tensor on a problem.
std::shared_ptr<Model> load_model(const LoadPlan& plan);

}  // namespace engine
}  // namespace mtpkit
