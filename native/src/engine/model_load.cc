// LoadPlan -> Model: maps the files, points QLinear views into them, converts the small float
// vectors to fp32. The TS side validated names and shapes; the checks here only keep a bad plan from
// reading outside a mapping.
#include <cstring>
#include <mutex>
#include <stdexcept>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "../float_bits.h"
#include "model.h"

namespace mtpkit {
namespace engine {
namespace {

int64_t dtype_bytes(TDType d) {
  switch (d) {
    case TDType::F32:
    case TDType::U32:
      return 4;
    case TDType::F16:
    case TDType::BF16:
      return 2;
    case TDType::U8:
      return 1;
  }
  return 1;
}

class Builder {
 public:
  Builder(const LoadPlan& plan, Model& m) : plan_(plan), m_(m) {}

  const uint8_t* ptr(const std::string& name) const {
    const TensorRef& t = tensor(name);
    if (t.file < 0 || t.file >= static_cast<int>(m_.files.size())) throw std::runtime_error(name + ": bad file index");
    const MappedFile& f = *m_.files[t.file];
    int64_t bytes = t.numel() * dtype_bytes(t.dtype);
    if (t.offset < 0 || t.offset + bytes > f.size()) {
      throw std::runtime_error(f.path() + ": tensor '" + name + "' lies outside the file");
    }
    return f.data() + t.offset;
  }

  const TensorRef& tensor(const std::string& name) const {
    auto it = plan_.tensors.find(name);
    if (it == plan_.tensors.end()) throw std::runtime_error("load plan: missing tensor '" + name + "'");
    return it->second;
  }

  bool has_linear(const std::string& name) const { return plan_.linears.count(name) != 0; }

  QLinear linear(const std::string& name) const {
    auto it = plan_.linears.find(name);
    if (it == plan_.linears.end()) throw std::runtime_error("load plan: missing linear '" + name + "'");
    const LinearRef& r = it->second;
    QLinear q;
    q.fmt = r.fmt;
    q.bits = r.bits;
    q.group = r.group;
    q.rows = r.rows;
    q.cols = r.cols;
    q.sdt = r.sdt;
    q.act = plan_.act;
    q.w = ptr(r.w);
    if (!r.scales.empty()) q.scales = ptr(r.scales);
    if (!r.biases.empty()) q.biases = ptr(r.biases);
    return q;
  }

  // A float tensor of any stored float dtype, as fp32 (`expect` elements).
  std::vector<float> vec(const std::string& name, int64_t expect) const {
    const TensorRef& t = tensor(name);
    if (t.numel() != expect) {
      throw std::runtime_error("tensor '" + name + "': " + std::to_string(t.numel()) + " elements, expected " + std::to_string(expect));
    }
    const uint8_t* p = ptr(name);
    std::vector<float> out(static_cast<size_t>(expect));
    for (int64_t i = 0; i < expect; ++i) {
      switch (t.dtype) {
        case TDType::F32: {
          float v;
          std::memcpy(&v, p + 4 * i, 4);
          out[i] = v;
          break;
        }
        case TDType::F16: {
          uint16_t h;
          std::memcpy(&h, p + 2 * i, 2);
          out[i] = f16_to_f32(h);
          break;
        }
        case TDType::BF16: {
          uint16_t h;
          std::memcpy(&h, p + 2 * i, 2);
          out[i] = bf16_to_f32(h);
          break;
        }
        default:
          throw std::runtime_error("tensor '" + name + "': expected a float dtype");
      }
    }
    return out;
  }

  void layer(const std::string& p, bool full, bool moe, LayerWeights& L) {
    const ModelConfig& c = m_.cfg;
    L.full = full;
    L.in_norm = vec(p + "input_layernorm.weight", c.hidden);
    L.post_norm = vec(p + "post_attention_layernorm.weight", c.hidden);
    if (full) {
      L.attn.q = linear(p + "self_attn.q_proj");
      L.attn.k = linear(p + "self_attn.k_proj");
      L.attn.v = linear(p + "self_attn.v_proj");
      L.attn.o = linear(p + "self_attn.o_proj");
      L.attn.q_norm = vec(p + "self_attn.q_norm.weight", c.head_dim);
      L.attn.k_norm = vec(p + "self_attn.k_norm.weight", c.head_dim);
    } else {
      GdnWeights& g = L.gdn;
      g.grouped = has_linear(p + "linear_attn.in_proj_qkvz");
      if (g.grouped) {
        g.qkvz = linear(p + "linear_attn.in_proj_qkvz");
        g.ba = linear(p + "linear_attn.in_proj_ba");
      } else {
        g.qkv = linear(p + "linear_attn.in_proj_qkv");
        g.z = linear(p + "linear_attn.in_proj_z");
        g.b = linear(p + "linear_attn.in_proj_b");
        g.a = linear(p + "linear_attn.in_proj_a");
      }
      g.out = linear(p + "linear_attn.out_proj");
      g.conv = vec(p + "linear_attn.conv1d.weight", static_cast<int64_t>(m_.conv_dim()) * c.conv_k);
      g.A_log = vec(p + "linear_attn.A_log", c.nv);
      g.dt_bias = vec(p + "linear_attn.dt_bias", c.nv);
      g.norm = vec(p + "linear_attn.norm.weight", c.dv);
    }
    MlpWeights& f = L.mlp;
    f.moe = moe;
    if (moe) {
      f.router = linear(p + "mlp.gate");
      f.e_gate = linear(p + "mlp.switch_mlp.gate_proj");
      f.e_up = linear(p + "mlp.switch_mlp.up_proj");
      f.e_down = linear(p + "mlp.switch_mlp.down_proj");
      f.has_shared = has_linear(p + "mlp.shared_expert.gate_proj");
      if (f.has_shared) {
        f.s_gate = linear(p + "mlp.shared_expert.gate_proj");
        f.s_up = linear(p + "mlp.shared_expert.up_proj");
        f.s_down = linear(p + "mlp.shared_expert.down_proj");
        f.s_gate_w = linear(p + "mlp.shared_expert_gate");
      }
    } else {
      f.gate = linear(p + "mlp.gate_proj");
      f.up = linear(p + "mlp.up_proj");
      f.down = linear(p + "mlp.down_proj");
    }
  }

 private:
  const LoadPlan& plan_;
  Model& m_;
};

// Weight bytes one token reads in a layer (MoE: the shared part plus top_k of E experts).
int64_t layer_bytes(const LayerWeights& L, const ModelConfig& c) {
  int64_t b = 0;
  if (L.full) {
    b += qlinear_bytes(L.attn.q) + qlinear_bytes(L.attn.k) + qlinear_bytes(L.attn.v) + qlinear_bytes(L.attn.o);
  } else if (L.gdn.grouped) {
    b += qlinear_bytes(L.gdn.qkvz) + qlinear_bytes(L.gdn.ba) + qlinear_bytes(L.gdn.out);
  } else {
    b += qlinear_bytes(L.gdn.qkv) + qlinear_bytes(L.gdn.z) + qlinear_bytes(L.gdn.a) + qlinear_bytes(L.gdn.b) + qlinear_bytes(L.gdn.out);
  }
  const MlpWeights& f = L.mlp;
  if (f.moe) {
    int64_t experts = qlinear_bytes(f.e_gate) + qlinear_bytes(f.e_up) + qlinear_bytes(f.e_down);
    b += qlinear_bytes(f.router) + experts / c.n_experts * c.top_k;
    if (f.has_shared) b += qlinear_bytes(f.s_gate) + qlinear_bytes(f.s_up) + qlinear_bytes(f.s_down) + qlinear_bytes(f.s_gate_w);
  } else {
    b += qlinear_bytes(f.gate) + qlinear_bytes(f.up) + qlinear_bytes(f.down);
  }
  return b;
}

// A forward allocates its scratch vectors (tens of KiB to a few MiB) and frees them before the next.
// glibc hands the top of a heap back to the kernel once 128 KiB are free there, and serves blocks
// above its mmap threshold with fresh mappings: either way the next forward page-faults the same
// memory in again, zeroed (profiled: 1.5-2% of decode in clear_page under Session::gdn's vector
// allocations). Fixed thresholds keep freed scratch in the heap; what stays is bounded by the
// largest forward's scratch. Other C libraries (macOS) keep their own policy.
void keep_scratch_in_heap() {
#if defined(__GLIBC__)
  static std::once_flag once;
  std::call_once(once, [] {
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
  });
#endif
}

}  // namespace

std::shared_ptr<Model> load_model(const LoadPlan& plan) {
  keep_scratch_in_heap();
  auto m = std::make_shared<Model>();
  m->cfg = plan.cfg;
  const ModelConfig& c = m->cfg;
  for (const auto& f : plan.files) m->files.push_back(std::make_unique<MappedFile>(f));
  Builder b(plan, *m);
  m->embed = b.linear("embed_tokens");
  m->head = c.tie ? m->embed : b.linear("lm_head");
  m->final_norm = b.vec("norm.weight", c.hidden);
  m->layers.resize(c.layers);
  for (int i = 0; i < c.layers; ++i) {
    b.layer("layers." + std::to_string(i) + ".", c.layer_full[i] != 0, c.layer_moe[i] != 0, m->layers[i]);
  }
  if (c.has_mtp) {
    m->mtp_fc = b.linear("mtp.fc");
    m->mtp_pre_e = b.vec("mtp.pre_fc_norm_embedding.weight", c.hidden);
    m->mtp_pre_h = b.vec("mtp.pre_fc_norm_hidden.weight", c.hidden);
    m->mtp_norm = b.vec("mtp.norm.weight", c.hidden);
    b.layer("mtp.layers.0.", true, c.mtp_moe, m->mtp_layer);
  }
  int64_t bytes = qlinear_bytes(m->head) + qlinear_bytes(m->embed) / c.vocab;
  for (const auto& L : m->layers) bytes += layer_bytes(L, c);
  m->bytes_per_token = bytes;
  m->pool = std::make_unique<ThreadPool>(plan.threads);
  return m;
}

}  // namespace engine
}  // namespace mtpkit
