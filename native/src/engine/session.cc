// The forward math follows ml-explore/mlx-lm mlx_lm/models/qwen3_5.py, qwen3_next.py and
// gated_delta.py (what users run on MLX), in fp32. Batch invariance: every row's result is computed
// in an order that does not depend on M (linears by the qlinear contract, the rest by per-row loops),
// so a position's logits are bit-identical alone, in a verify batch or in a prefill chunk.
#include "session.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#include "ops.h"

namespace mtpkit {
namespace engine {

Session::Session(std::shared_ptr<Model> model, int64_t max_context) : m_(std::move(model)), max_context_(max_context) {
  const ModelConfig& c = m_->cfg;
  kv_.resize(c.layers);
  gdn_.resize(c.layers);
  reset();
}

void Session::reset() {
  const ModelConfig& c = m_->cfg;
  pos_ = 0;
  mtp_pos_ = 0;
  for (auto& k : kv_) k.len = 0;
  mtp_kv_.len = 0;
  for (int i = 0; i < c.layers; ++i) {
    if (c.layer_full[i]) continue;
    GdnState& s = gdn_[i];
    s.conv.assign(static_cast<size_t>(c.conv_k - 1) * m_->conv_dim(), 0.f);
    s.S.assign(static_cast<size_t>(c.nv) * c.dv * c.dk, 0.f);
    s.window.clear();
    s.S0.clear();
    s.co.clear();
    s.b.clear();
    s.a.clear();
  }
  last_start_ = last_end_ = -1;
  last_m_ = 0;
  last_snaps_ = false;
}

void Session::check_tokens(const int32_t* tokens, int64_t M) const {
  for (int64_t i = 0; i < M; ++i) {
    if (tokens[i] < 0 || tokens[i] >= m_->cfg.vocab) {
      throw std::runtime_error("token id " + std::to_string(tokens[i]) + " is out of range [0, " + std::to_string(m_->cfg.vocab) + ")");
    }
  }
}

static void ensure_kv(KvCache& kv, int64_t need, int64_t row) {
  int64_t have = static_cast<int64_t>(kv.k.size()) / row;
  if (need <= have) return;
  int64_t cap = std::max<int64_t>(need, std::max<int64_t>(64, have * 2));
  kv.k.resize(static_cast<size_t>(cap * row));
  kv.v.resize(static_cast<size_t>(cap * row));
}

// Rotate-half RoPE on the first rot dims of one head vector (mlx nn.RoPE, traditional=False).
static void rope(float* x, int rot, double theta, int64_t position) {
  int half = rot / 2;
  for (int i = 0; i < half; ++i) {
    float inv = static_cast<float>(std::pow(theta, -2.0 * i / rot));
    float ang = static_cast<float>(position) * inv;
    float c = static_cast<float>(std::cos(static_cast<double>(ang)));
    float s = static_cast<float>(std::sin(static_cast<double>(ang)));
    float a = x[i], b = x[i + half];
    x[i] = a * c - b * s;
    x[i + half] = a * s + b * c;
  }
}

void Session::attention(const LayerWeights& L, const float* xn, int64_t M, int64_t start, KvCache& kv, float* out) {
  const ModelConfig& c = m_->cfg;
  const int hd = c.head_dim, nH = c.n_heads, nKV = c.n_kv;
  const int64_t row = static_cast<int64_t>(nKV) * hd;
  ThreadPool* pool = m_->pool.get();
  std::vector<float> qg(static_cast<size_t>(M) * nH * 2 * hd), k(static_cast<size_t>(M) * row), v(static_cast<size_t>(M) * row);
  qlinear_forward(L.attn.q, xn, M, qg.data(), pool);
  qlinear_forward(L.attn.k, xn, M, k.data(), pool);
  qlinear_forward(L.attn.v, xn, M, v.data(), pool);

  // q heads: rows of q_proj are [query h | gate h] per head (mlx splits the per-head view in two).
  std::vector<float> q(static_cast<size_t>(M) * nH * hd), gate(static_cast<size_t>(M) * nH * hd);
  for (int64_t t = 0; t < M; ++t) {
    for (int h = 0; h < nH; ++h) {
      const float* src = &qg[(t * nH + h) * 2 * hd];
      float* qd = &q[(t * nH + h) * hd];
      rms_norm(src, L.attn.q_norm.data(), hd, c.eps, qd);
      rope(qd, c.rot_dim, c.rope_theta, start + t);
      std::memcpy(&gate[(t * nH + h) * hd], src + hd, sizeof(float) * hd);
    }
    for (int h = 0; h < nKV; ++h) {
      float* kh = &k[t * row + h * hd];
      rms_norm(kh, L.attn.k_norm.data(), hd, c.eps, kh);
      rope(kh, c.rot_dim, c.rope_theta, start + t);
    }
  }
  ensure_kv(kv, start + M, row);
  std::memcpy(&kv.k[start * row], k.data(), sizeof(float) * M * row);
  std::memcpy(&kv.v[start * row], v.data(), sizeof(float) * M * row);
  kv.len = start + M;

  const float scale = 1.f / std::sqrt(static_cast<float>(hd));
  const int group = nH / nKV;
  std::vector<float> att(static_cast<size_t>(M) * nH * hd);
  pool->parallel_for(M * nH, 1, [&](int64_t b, int64_t e) {
    std::vector<float> sc(static_cast<size_t>(start + M));
    std::vector<float> acc(hd);
    for (int64_t i = b; i < e; ++i) {
      int64_t t = i / nH;
      int h = static_cast<int>(i % nH);
      int g = h / group;
      const float* qh = &q[(t * nH + h) * hd];
      int64_t n = start + t + 1;  // causal: keys 0..start+t
      float mx = -INFINITY;
      for (int64_t j = 0; j < n; ++j) {
        sc[j] = dot8(qh, &kv.k[j * row + g * hd], hd) * scale;
        mx = std::max(mx, sc[j]);
      }
      float sum = 0.f;
      for (int64_t j = 0; j < n; ++j) {
        sc[j] = std::exp(sc[j] - mx);
        sum += sc[j];
      }
      std::fill(acc.begin(), acc.end(), 0.f);
      for (int64_t j = 0; j < n; ++j) {
        const float* vj = &kv.v[j * row + g * hd];
        float p = sc[j];
        for (int x = 0; x < hd; ++x) acc[x] += p * vj[x];
      }
      float inv = 1.f / sum;
      float* o = &att[(t * nH + h) * hd];
      const float* gt = &gate[(t * nH + h) * hd];
      for (int x = 0; x < hd; ++x) o[x] = acc[x] * inv * sigmoidf(gt[x]);
    }
  });
  qlinear_forward(L.attn.o, att.data(), M, out, pool);
}

// One token's recurrent step of one value head (mlx-lm gated_delta.py): S = decay*S + k*delta with
// delta = beta*(v - (decay*S).k), output (S.q). The state is read from src (S itself, or the kept
// state before a forward) and written to S, so a rollback replays exactly the forward's steps.
struct GdnStep {
  static constexpr int kPrefetchRows = 4, kFloatsPerLine = 16;
  const ModelConfig& c;
  const GdnWeights& G;
  const float *co, *bb, *aa;
  int64_t cd;
  std::vector<float> qn, kn;
  GdnStep(const ModelConfig& cfg, const GdnWeights& g, const float* conv_out, int64_t conv_dim, const float* b, const float* a)
      : c(cfg), G(g), co(conv_out), bb(b), aa(a), cd(conv_dim), qn(size_t(cfg.dk)), kn(size_t(cfg.dk)) {}

  // out may be null (replay: only the state matters).
  void run(int64_t hv, int64_t t, const float* src, float* S, float* out) {
    const int dk = c.dk, dv = c.dv, nv = c.nv;
    const int64_t kd = static_cast<int64_t>(c.nk) * dk;
    const int kh = static_cast<int>(hv / (nv / c.nk));
    const float kscale = 1.f / std::sqrt(static_cast<float>(dk));
    const float* row = co + t * cd;
    // mlx-lm: q = dk^-1 * rms_norm(q, eps 1e-6), k = dk^-0.5 * rms_norm(k, eps 1e-6).
    if (out) rms_norm(row + kh * dk, nullptr, dk, 1e-6f, qn.data());
    rms_norm(row + kd + kh * dk, nullptr, dk, 1e-6f, kn.data());
    for (int x = 0; x < dk; ++x) {
      qn[x] *= kscale * kscale;
      kn[x] *= kscale;
    }
    const float* vv = row + 2 * kd + hv * dv;
    const float beta = sigmoidf(bb[t * nv + hv]);
    const float decay = std::exp(-std::exp(G.A_log[hv]) * softplusf(aa[t * nv + hv] + G.dt_bias[hv]));
    for (int j = 0; j < dv; ++j) {
      // The state (dv x dk floats per head, 64 KiB at dk = dv = 128) streams from memory every
      // token, but each row waits on the previous one's dot products, so out-of-order execution
      // cannot run far ahead to start the next rows' loads: fetch a few rows ahead ourselves
      // (measured: the first load of each row took most of this loop's time).
      if (j + kPrefetchRows < dv) {
        const float* ahead = src + static_cast<int64_t>(j + kPrefetchRows) * dk;
        for (int x = 0; x < dk; x += kFloatsPerLine) __builtin_prefetch(ahead + x);
        if (src != S) {
          float* dst = S + static_cast<int64_t>(j + kPrefetchRows) * dk;
          for (int x = 0; x < dk; x += kFloatsPerLine) __builtin_prefetch(dst + x, 1);
        }
      }
      float* s = S + static_cast<int64_t>(j) * dk;
      const float kv = scale_dot8(src + static_cast<int64_t>(j) * dk, s, decay, kn.data(), dk);
      const float delta = (vv[j] - kv) * beta;
      const float y = axpy_dot8(s, kn.data(), delta, qn.data(), dk);
      if (out) out[j] = y;
    }
  }
};

void Session::gdn_replay(const LayerWeights& L, GdnState& st, int64_t n) {
  const ModelConfig& c = m_->cfg;
  const int64_t head_state = static_cast<int64_t>(c.dv) * c.dk;
  m_->pool->parallel_for(c.nv, 1, [&](int64_t hb, int64_t he) {
    GdnStep step(c, L.gdn, st.co.data(), m_->conv_dim(), st.b.data(), st.a.data());
    for (int64_t hv = hb; hv < he; ++hv) {
      float* S = &st.S[hv * head_state];
      for (int64_t t = 0; t < n; ++t) step.run(hv, t, t == 0 ? &st.S0[hv * head_state] : S, S, nullptr);
    }
  });
}

void Session::gdn(const LayerWeights& L, const float* xn, int64_t M, GdnState& st, bool keep, float* out) {
  const ModelConfig& c = m_->cfg;
  const GdnWeights& G = L.gdn;
  const int nk = c.nk, nv = c.nv, dk = c.dk, dv = c.dv, K = c.conv_k;
  const int64_t kd = static_cast<int64_t>(nk) * dk, vd = static_cast<int64_t>(nv) * dv;
  const int64_t cd = m_->conv_dim();
  ThreadPool* pool = m_->pool.get();

  std::vector<float> mixed(static_cast<size_t>(M) * cd), z(static_cast<size_t>(M) * vd), bb(static_cast<size_t>(M) * nv),
      aa(static_cast<size_t>(M) * nv);
  if (G.grouped) {
    // Qwen3-Next: outputs grouped per key head, [q_g | k_g | v_g (r heads) | z_g (r heads)] and
    // [b_g (r) | a_g (r)] (mlx-lm qwen3_next.py fix_query_key_value_ordering).
    const int r = nv / nk;
    const int64_t gw = 2 * dk + 2 * static_cast<int64_t>(r) * dv;
    std::vector<float> qkvz(static_cast<size_t>(M * nk * gw)), ba(static_cast<size_t>(M) * nk * 2 * r);
    qlinear_forward(G.qkvz, xn, M, qkvz.data(), pool);
    qlinear_forward(G.ba, xn, M, ba.data(), pool);
    for (int64_t t = 0; t < M; ++t) {
      float* mrow = &mixed[t * cd];
      for (int g = 0; g < nk; ++g) {
        const float* src = &qkvz[(t * nk + g) * gw];
        std::memcpy(mrow + g * dk, src, sizeof(float) * dk);
        std::memcpy(mrow + kd + g * dk, src + dk, sizeof(float) * dk);
        std::memcpy(mrow + 2 * kd + static_cast<int64_t>(g) * r * dv, src + 2 * dk, sizeof(float) * r * dv);
        std::memcpy(&z[t * vd + static_cast<int64_t>(g) * r * dv], src + 2 * dk + r * dv, sizeof(float) * r * dv);
        const float* bsrc = &ba[(t * nk + g) * 2 * r];
        for (int j = 0; j < r; ++j) {
          bb[t * nv + g * r + j] = bsrc[j];
          aa[t * nv + g * r + j] = bsrc[r + j];
        }
      }
    }
  } else {
    qlinear_forward(G.qkv, xn, M, mixed.data(), pool);
    qlinear_forward(G.z, xn, M, z.data(), pool);
    qlinear_forward(G.b, xn, M, bb.data(), pool);
    qlinear_forward(G.a, xn, M, aa.data(), pool);
  }

  // Causal depthwise conv over [state (K-1 rows) ; M new rows], then SiLU.
  std::vector<float> win(static_cast<size_t>((K - 1 + M) * cd));
  std::memcpy(win.data(), st.conv.data(), sizeof(float) * (K - 1) * cd);
  std::memcpy(win.data() + (K - 1) * cd, mixed.data(), sizeof(float) * M * cd);
  std::vector<float> co(static_cast<size_t>(M) * cd);
  for (int64_t t = 0; t < M; ++t) {
    for (int64_t ch = 0; ch < cd; ++ch) {
      const float* w = &G.conv[ch * K];
      float s = 0.f;
      for (int j = 0; j < K; ++j) s += w[j] * win[(t + j) * cd + ch];
      co[t * cd + ch] = siluf(s);
    }
  }
  std::memcpy(st.conv.data(), win.data() + M * cd, sizeof(float) * (K - 1) * cd);

  const int64_t head_state = static_cast<int64_t>(dv) * dk;
  if (keep) {
    // What a rollback needs: the state before this forward (S0; S becomes the other buffer, which
    // the first token's step overwrites from S0), the conv window and the per-token inputs.
    st.window.swap(win);
    st.S0.resize(st.S.size());
    st.S.swap(st.S0);
    st.co = co;
    st.b = bb;
    st.a = aa;
  }
  std::vector<float> o(static_cast<size_t>(M) * vd);
  pool->parallel_for(nv, 1, [&](int64_t hb, int64_t he) {
    GdnStep step(c, G, co.data(), cd, bb.data(), aa.data());
    for (int64_t hv = hb; hv < he; ++hv) {
      const float* src = keep ? &st.S0[hv * head_state] : &st.S[hv * head_state];
      for (int64_t t = 0; t < M; ++t) {
        step.run(hv, t, t == 0 ? src : &st.S[hv * head_state], &st.S[hv * head_state], &o[t * vd + hv * dv]);
      }
    }
  });

  // Gated RMSNorm per value head (norm first, then * silu(z)), then out_proj.
  for (int64_t t = 0; t < M; ++t) {
    for (int h = 0; h < nv; ++h) {
      float* oh = &o[t * vd + static_cast<int64_t>(h) * dv];
      const float* zh = &z[t * vd + static_cast<int64_t>(h) * dv];
      rms_norm(oh, G.norm.data(), dv, c.eps, oh);
      for (int j = 0; j < dv; ++j) oh[j] *= siluf(zh[j]);
    }
  }
  qlinear_forward(G.out, o.data(), M, out, pool);
}

static void swiglu_mlp(const QLinear& gate, const QLinear& up, const QLinear& down, const float* x, int64_t M, float* out, ThreadPool* pool) {
  const int64_t I = gate.rows;
  std::vector<float> g(static_cast<size_t>(M * I)), u(static_cast<size_t>(M * I));
  qlinear_forward(gate, x, M, g.data(), pool);
  qlinear_forward(up, x, M, u.data(), pool);
  for (int64_t i = 0; i < M * I; ++i) g[i] = siluf(g[i]) * u[i];
  qlinear_forward(down, g.data(), M, out, pool);
}

void Session::mlp(const MlpWeights& f, const float* xn, int64_t M, float* out) {
  const ModelConfig& c = m_->cfg;
  ThreadPool* pool = m_->pool.get();
  const int64_t H = c.hidden;
  if (!f.moe) {
    swiglu_mlp(f.gate, f.up, f.down, xn, M, out, pool);
    return;
  }
  const int E = c.n_experts, k = c.top_k;
  const int64_t Im = f.e_gate.rows / E;
  std::vector<float> logits(static_cast<size_t>(M) * E);
  qlinear_forward(f.router, xn, M, logits.data(), pool);
  // Softmax over all experts, then the top k (ties: lower index first), renormalised when the
  // config says so (mlx-lm Qwen3NextSparseMoeBlock, used by qwen3_5 MoE with norm_topk_prob = true).
  std::vector<int> sel(static_cast<size_t>(M) * k);
  std::vector<float> wsel(static_cast<size_t>(M) * k);
  for (int64_t t = 0; t < M; ++t) {
    float* p = &logits[t * E];
    float mx = -INFINITY;
    for (int e = 0; e < E; ++e) mx = std::max(mx, p[e]);
    float sum = 0.f;
    for (int e = 0; e < E; ++e) {
      p[e] = std::exp(p[e] - mx);
      sum += p[e];
    }
    for (int e = 0; e < E; ++e) p[e] /= sum;
    std::vector<char> used(E, 0);
    float wsum = 0.f;
    for (int j = 0; j < k; ++j) {
      int best = -1;
      for (int e = 0; e < E; ++e) {
        if (!used[e] && (best < 0 || p[e] > p[best])) best = e;
      }
      used[best] = 1;
      sel[t * k + j] = best;
      wsel[t * k + j] = p[best];
      wsum += p[best];
    }
    if (c.norm_topk) {
      for (int j = 0; j < k; ++j) wsel[t * k + j] /= wsum;
    }
  }
  // Each expert runs once over the rows routed to it; per-(token, slot) results are summed per token
  // in slot order, so a token's output does not depend on which other tokens share the batch.
  std::vector<float> slot_out(static_cast<size_t>(M * k * H));
  std::vector<float> xe, ye;
  std::vector<int64_t> rows;
  for (int e = 0; e < E; ++e) {
    rows.clear();
    for (int64_t i = 0; i < M * k; ++i) {
      if (sel[i] == e) rows.push_back(i);
    }
    if (rows.empty()) continue;
    const int64_t n = static_cast<int64_t>(rows.size());
    xe.resize(static_cast<size_t>(n * H));
    ye.resize(static_cast<size_t>(n * H));
    for (int64_t i = 0; i < n; ++i) std::memcpy(&xe[i * H], xn + (rows[i] / k) * H, sizeof(float) * H);
    swiglu_mlp(slice_rows(f.e_gate, e * Im, (e + 1) * Im), slice_rows(f.e_up, e * Im, (e + 1) * Im), slice_rows(f.e_down, e * H, (e + 1) * H),
               xe.data(), n, ye.data(), pool);
    for (int64_t i = 0; i < n; ++i) std::memcpy(&slot_out[rows[i] * H], &ye[i * H], sizeof(float) * H);
  }
  for (int64_t t = 0; t < M; ++t) {
    float* y = out + t * H;
    std::fill(y, y + H, 0.f);
    for (int j = 0; j < k; ++j) {
      const float w = wsel[t * k + j];
      const float* s = &slot_out[(t * k + j) * H];
      for (int64_t x = 0; x < H; ++x) y[x] += s[x] * w;
    }
  }
  if (f.has_shared) {
    std::vector<float> sh(static_cast<size_t>(M * H)), sg(static_cast<size_t>(M));
    swiglu_mlp(f.s_gate, f.s_up, f.s_down, xn, M, sh.data(), pool);
    qlinear_forward(f.s_gate_w, xn, M, sg.data(), pool);
    for (int64_t t = 0; t < M; ++t) {
      const float g = sigmoidf(sg[t]);
      for (int64_t x = 0; x < H; ++x) out[t * H + x] += g * sh[t * H + x];
    }
  }
}

void Session::layer_forward(const LayerWeights& L, float* x, int64_t M, int64_t start, KvCache& kv, GdnState* st, bool keep) {
  const ModelConfig& c = m_->cfg;
  const int64_t H = c.hidden;
  std::vector<float> xn(static_cast<size_t>(M * H)), r(static_cast<size_t>(M * H));
  for (int64_t t = 0; t < M; ++t) rms_norm(x + t * H, L.in_norm.data(), H, c.eps, &xn[t * H]);
  if (L.full) {
    attention(L, xn.data(), M, start, kv, r.data());
  } else {
    gdn(L, xn.data(), M, *st, keep, r.data());
  }
  for (int64_t i = 0; i < M * H; ++i) x[i] += r[i];
  for (int64_t t = 0; t < M; ++t) rms_norm(x + t * H, L.post_norm.data(), H, c.eps, &xn[t * H]);
  mlp(L.mlp, xn.data(), M, r.data());
  for (int64_t i = 0; i < M * H; ++i) x[i] += r[i];
}

void Session::logits(const float* h, int64_t M, LogitsMode mode, std::vector<float>& out) {
  const int64_t V = m_->cfg.vocab, H = m_->cfg.hidden;
  if (mode == LogitsMode::None) {
    out.clear();
    return;
  }
  const int64_t rows = mode == LogitsMode::All ? M : 1;
  const float* src = mode == LogitsMode::All ? h : h + (M - 1) * H;
  out.resize(static_cast<size_t>(rows * V));
  qlinear_forward(m_->head, src, rows, out.data(), m_->pool.get());
}

void Session::forward(const int32_t* tokens, int64_t M, LogitsMode mode, ForwardOut& out) {
  if (M < 1) throw std::runtime_error("forward needs at least one token");
  check_tokens(tokens, M);
  if (pos_ + M > max_context_) {
    throw std::runtime_error("context full: " + std::to_string(pos_ + M) + " tokens exceed maxContext " + std::to_string(max_context_));
  }
  const ModelConfig& c = m_->cfg;
  const int64_t H = c.hidden;
  std::lock_guard<std::mutex> lock(m_->run_mu);
  std::vector<float> x(static_cast<size_t>(M * H));
  for (int64_t t = 0; t < M; ++t) qlinear_row(m_->embed, tokens[t], &x[t * H]);
  const bool keep = M > 1 && M <= kMaxRollback;
  for (int i = 0; i < c.layers; ++i) {
    layer_forward(m_->layers[i], x.data(), M, pos_, kv_[i], c.layer_full[i] ? nullptr : &gdn_[i], keep);
  }
  out.hidden_pre = x;
  out.hidden_post.resize(static_cast<size_t>(M * H));
  for (int64_t t = 0; t < M; ++t) rms_norm(&x[t * H], m_->final_norm.data(), H, c.eps, &out.hidden_post[t * H]);
  logits(out.hidden_post.data(), M, mode, out.logits);
  last_start_ = pos_;
  pos_ += M;
  last_end_ = pos_;
  last_m_ = M;
  last_snaps_ = keep;
}

void Session::rollback(int64_t position) {
  if (position == pos_) return;
  if (last_start_ < 0 || position <= last_start_ || position > last_end_ || (!last_snaps_ && position != last_end_)) {
    std::string range = last_start_ < 0 ? "no forward to roll back into"
                                        : last_snaps_ ? "positions (" + std::to_string(last_start_) + ", " + std::to_string(last_end_) + "] are reachable"
                                                      : "the last forward of " + std::to_string(last_m_) + " tokens kept no snapshots";
    throw std::runtime_error("cannot roll back to position " + std::to_string(position) + ": " + range);
  }
  const ModelConfig& c = m_->cfg;
  const int64_t n = position - last_start_;  // tokens of the last forward that stay (1..M)
  const int64_t cd = m_->conv_dim();
  for (int i = 0; i < c.layers; ++i) {
    if (c.layer_full[i]) {
      kv_[i].len = position;
      continue;
    }
    GdnState& s = gdn_[i];
    std::memcpy(s.conv.data(), s.window.data() + n * cd, sizeof(float) * (c.conv_k - 1) * cd);
    if (n < last_m_) gdn_replay(m_->layers[i], s, n);
  }
  pos_ = position;
  // Snapshots of tokens after `position` stay valid for a further rollback to an earlier position only.
  last_end_ = position;
  last_m_ = n;
}

void Session::mtp_forward(const float* hidden, const int32_t* tokens, int64_t M, LogitsMode mode, MtpOut& out) {
  if (!m_->cfg.has_mtp) throw std::runtime_error("the model has no MTP head");
  if (M < 1) throw std::runtime_error("mtpForward needs at least one row");
  check_tokens(tokens, M);
  if (mtp_pos_ + M > max_context_) throw std::runtime_error("MTP context full");
  const ModelConfig& c = m_->cfg;
  const int64_t H = c.hidden;
  std::lock_guard<std::mutex> lock(m_->run_mu);
  // x = fc([pre_fc_norm_embedding(embed(token)), pre_fc_norm_hidden(hidden)]): embedding first.
  std::vector<float> cat(static_cast<size_t>(M * 2 * H)), e(static_cast<size_t>(H)), x(static_cast<size_t>(M * H));
  for (int64_t t = 0; t < M; ++t) {
    qlinear_row(m_->embed, tokens[t], e.data());
    rms_norm(e.data(), m_->mtp_pre_e.data(), H, c.eps, &cat[t * 2 * H]);
    rms_norm(hidden + t * H, m_->mtp_pre_h.data(), H, c.eps, &cat[t * 2 * H + H]);
  }
  qlinear_forward(m_->mtp_fc, cat.data(), M, x.data(), m_->pool.get());
  layer_forward(m_->mtp_layer, x.data(), M, mtp_pos_, mtp_kv_, nullptr, false);
  out.hidden.resize(static_cast<size_t>(M * H));
  for (int64_t t = 0; t < M; ++t) rms_norm(&x[t * H], m_->mtp_norm.data(), H, c.eps, &out.hidden[t * H]);
  logits(out.hidden.data(), M, mode, out.logits);
  mtp_pos_ += M;
}

void Session::mtp_rollback(int64_t position) {
  if (position < 0 || position > mtp_pos_) {
    throw std::runtime_error("cannot roll the MTP cache back to " + std::to_string(position) + ": it holds " + std::to_string(mtp_pos_));
  }
  mtp_pos_ = position;
  mtp_kv_.len = position;
}

}  // namespace engine
}  // namespace mtpkit
