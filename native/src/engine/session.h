// One generation stream over a Model: KV caches of the full-attention layers, conv + recurrent state
// of the Gated DeltaNet layers (a short forward keeps the recurrent state from before it and its
// per-token inputs, so a rejected draft is rolled back by replaying the kept tokens' state updates,
// not by re-forwarding), and the MTP head's own KV cache.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "model.h"

namespace mtpkit {
namespace engine {

constexpr int64_t kMaxRollback = 8;

enum class LogitsMode : int { All = 0, Last = 1, None = 2 };

struct ForwardOut {
  std::vector<float> logits, hidden_pre, hidden_post;
};

struct MtpOut {
  std::vector<float> logits, hidden;
};

struct KvCache {
  std::vector<float> k, v;  // [position][n_kv * head_dim]
  int64_t len = 0;
};

struct GdnState {
  std::vector<float> conv;  // [K-1][conv_dim]: the last pre-conv inputs
  std::vector<float> S;     // [nv][dv][dk]
  // From the last forward, when it kept what a rollback needs (one state, not one per token: the
  // replay costs a few recurrent steps, far less than copying M-1 states on every verify forward):
  std::vector<float> window;  // [(K-1) + M][conv_dim]: conv state before it, then its M inputs
  std::vector<float> S0;      // [nv][dv][dk]: S before it (S and S0 swap buffers, nothing is copied)
  std::vector<float> co;      // [M][conv_dim]: its conv outputs (q, k, v per token)
  std::vector<float> b, a;    // [M][nv]: its beta and decay-gate inputs
};

class Session {
 public:
  Session(std::shared_ptr<Model> model, int64_t max_context);

  void forward(const int32_t* tokens, int64_t M, LogitsMode mode, ForwardOut& out);
  void rollback(int64_t position);  // throws std::runtime_error outside the last forward
  void mtp_forward(const float* hidden, const int32_t* tokens, int64_t M, LogitsMode mode, MtpOut& out);
  void mtp_rollback(int64_t position);
  void reset();

  int64_t position() const { return pos_; }
  int64_t mtp_position() const { return mtp_pos_; }
  const Model& model() const { return *m_; }

  std::atomic<bool> busy{false};

 private:
  void layer_forward(const LayerWeights& L, float* x, int64_t M, int64_t start, KvCache& kv, GdnState* st, bool keep);
  void attention(const LayerWeights& L, const float* xn, int64_t M, int64_t start, KvCache& kv, float* out);
  void gdn(const LayerWeights& L, const float* xn, int64_t M, GdnState& st, bool keep, float* out);
  // S = S0 advanced by the first n tokens of the last forward (same steps, so bit-identical).
  void gdn_replay(const LayerWeights& L, GdnState& st, int64_t n);
  void mlp(const MlpWeights& f, const float* xn, int64_t M, float* out);
  void logits(const float* h, int64_t M, LogitsMode mode, std::vector<float>& out);
  void check_tokens(const int32_t* tokens, int64_t M) const;

  std::shared_ptr<Model> m_;
  int64_t max_context_;
  int64_t pos_ = 0;
  std::vector<KvCache> kv_;
  std::vector<GdnState> gdn_;
  KvCache mtp_kv_;
  int64_t mtp_pos_ = 0;
  // The last forward covered (last_start_, last_end_]; it kept rollback data iff last_snaps_.
  int64_t last_start_ = -1, last_end_ = -1, last_m_ = 0;
  bool last_snaps_ = false;
};

}  // namespace engine
}  // namespace mtpkit
