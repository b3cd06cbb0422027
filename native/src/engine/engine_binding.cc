// JS entry points of the inference engine: load a model from a plan, sessions, forward passes.
// Long work (forward, MTP forward) runs in Napi::AsyncWorker so the event loop never waits on it;
// every C++ exception becomes a JS exception (the process never aborts on bad input).
#include <napi.h>

#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>

#include "model.h"
#include "session.h"

namespace mtpkit {
namespace {

using engine::ForwardOut;
using engine::LoadPlan;
using engine::LogitsMode;
using engine::Model;
using engine::MtpOut;
using engine::Session;

struct ModelHolder {
  std::shared_ptr<Model> model;
};
struct SessionHolder {
  std::shared_ptr<Session> session;
};

bool fail(Napi::Env env, const std::string& msg) {
  Napi::Error::New(env, msg).ThrowAsJavaScriptException();
  return false;
}

int64_t num(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) throw std::runtime_error(std::string("load plan: '") + key + "' must be a number");
  return v.As<Napi::Number>().Int64Value();
}

std::vector<int> int_list(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsArray()) throw std::runtime_error(std::string("load plan: '") + key + "' must be an array");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<int> out(a.Length());
  for (uint32_t i = 0; i < a.Length(); ++i) out[i] = a.Get(i).As<Napi::Number>().Int32Value();
  return out;
}

LoadPlan parse_plan(const Napi::Object& p) {
  LoadPlan plan;
  Napi::Array files = p.Get("files").As<Napi::Array>();
  for (uint32_t i = 0; i < files.Length(); ++i) plan.files.push_back(files.Get(i).As<Napi::String>().Utf8Value());
  plan.threads = static_cast<int>(num(p, "threads"));
  Napi::Value act = p.Get("activations");  // 'q8' (default) | 'f32'
  if (!act.IsUndefined()) {
    std::string a = act.IsString() ? act.As<Napi::String>().Utf8Value() : "";
    if (a != "q8" && a != "f32") throw std::runtime_error("load plan: 'activations' must be 'q8' or 'f32'");
    plan.act = a == "q8" ? engine::Activations::Q8 : engine::Activations::F32;
  }
  Napi::Object c = p.Get("config").As<Napi::Object>();
  engine::ModelConfig& cfg = plan.cfg;
  cfg.arch = static_cast<engine::Arch>(num(c, "arch"));
  cfg.hidden = static_cast<int>(num(c, "hidden"));
  cfg.vocab = static_cast<int>(num(c, "vocab"));
  cfg.layers = static_cast<int>(num(c, "layers"));
  cfg.layer_full = int_list(c, "layerFull");
  cfg.layer_moe = int_list(c, "layerMoe");
  cfg.n_heads = static_cast<int>(num(c, "nHeads"));
  cfg.n_kv = static_cast<int>(num(c, "nKv"));
  cfg.head_dim = static_cast<int>(num(c, "headDim"));
  cfg.rot_dim = static_cast<int>(num(c, "rotDim"));
  cfg.rope_theta = c.Get("ropeTheta").As<Napi::Number>().DoubleValue();
  cfg.eps = c.Get("eps").As<Napi::Number>().FloatValue();
  cfg.nk = static_cast<int>(num(c, "nk"));
  cfg.nv = static_cast<int>(num(c, "nv"));
  cfg.dk = static_cast<int>(num(c, "dk"));
  cfg.dv = static_cast<int>(num(c, "dv"));
  cfg.conv_k = static_cast<int>(num(c, "convK"));
  cfg.n_experts = static_cast<int>(num(c, "nExperts"));
  cfg.top_k = static_cast<int>(num(c, "topK"));
  cfg.norm_topk = c.Get("normTopk").ToBoolean();
  cfg.tie = c.Get("tie").ToBoolean();
  cfg.has_mtp = c.Get("hasMtp").ToBoolean();
  cfg.mtp_moe = c.Get("mtpMoe").ToBoolean();
  if (static_cast<int>(cfg.layer_full.size()) != cfg.layers || static_cast<int>(cfg.layer_moe.size()) != cfg.layers) {
    throw std::runtime_error("load plan: layerFull / layerMoe must list every layer");
  }

  Napi::Array tensors = p.Get("tensors").As<Napi::Array>();
  for (uint32_t i = 0; i < tensors.Length(); ++i) {
    Napi::Object t = tensors.Get(i).As<Napi::Object>();
    engine::TensorRef r;
    r.file = static_cast<int>(num(t, "file"));
    r.offset = num(t, "offset");
    r.dtype = static_cast<engine::TDType>(num(t, "dtype"));
    for (int d : int_list(t, "shape")) r.shape.push_back(d);
    plan.tensors[t.Get("name").As<Napi::String>().Utf8Value()] = r;
  }
  Napi::Array linears = p.Get("linears").As<Napi::Array>();
  for (uint32_t i = 0; i < linears.Length(); ++i) {
    Napi::Object l = linears.Get(i).As<Napi::Object>();
    engine::LinearRef r;
    r.fmt = static_cast<engine::WFormat>(num(l, "fmt"));
    r.bits = static_cast<int>(num(l, "bits"));
    r.group = static_cast<int>(num(l, "group"));
    r.rows = num(l, "rows");
    r.cols = num(l, "cols");
    r.sdt = static_cast<engine::ScaleType>(num(l, "sdt"));
    r.w = l.Get("w").As<Napi::String>().Utf8Value();
    if (l.Get("scales").IsString()) r.scales = l.Get("scales").As<Napi::String>().Utf8Value();
    if (l.Get("biases").IsString()) r.biases = l.Get("biases").As<Napi::String>().Utf8Value();
    plan.linears[l.Get("name").As<Napi::String>().Utf8Value()] = r;
  }
  return plan;
}

Napi::Float32Array to_f32(Napi::Env env, const std::vector<float>& v) {
  Napi::Float32Array a = Napi::Float32Array::New(env, v.size());
  if (!v.empty()) std::memcpy(a.Data(), v.data(), v.size() * sizeof(float));
  return a;
}

Session* session_of(const Napi::CallbackInfo& info, std::shared_ptr<Session>* keep = nullptr) {
  if (info.Length() < 1 || !info[0].IsExternal()) {
    fail(info.Env(), "expected a session handle");
    return nullptr;
  }
  auto* h = info[0].As<Napi::External<SessionHolder>>().Data();
  if (!h->session) {
    fail(info.Env(), "the session's model is closed");
    return nullptr;
  }
  if (keep) *keep = h->session;
  return h->session.get();
}

std::vector<int32_t> tokens_of(const Napi::Value& v) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    throw std::runtime_error("tokens must be an Int32Array");
  }
  Napi::Int32Array a = v.As<Napi::Int32Array>();
  return std::vector<int32_t>(a.Data(), a.Data() + a.ElementLength());
}

// Clears the session's busy flag when the worker is done, whatever the outcome.
class SessionWorker : public Napi::AsyncWorker {
 public:
  SessionWorker(Napi::Env env, std::shared_ptr<Session> s) : Napi::AsyncWorker(env), s_(std::move(s)), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void OnError(const Napi::Error& e) override {
    s_->busy = false;
    deferred_.Reject(e.Value());
  }
  void Execute() override {
    try {
      run();
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  virtual void run() = 0;
  std::shared_ptr<Session> s_;
  Napi::Promise::Deferred deferred_;
};

class ForwardWorker : public SessionWorker {
 public:
  ForwardWorker(Napi::Env env, std::shared_ptr<Session> s, std::vector<int32_t> tokens, LogitsMode mode)
      : SessionWorker(env, std::move(s)), tokens_(std::move(tokens)), mode_(mode) {}

 protected:
  void run() override { s_->forward(tokens_.data(), static_cast<int64_t>(tokens_.size()), mode_, out_); }
  void OnOK() override {
    s_->busy = false;
    Napi::Env env = Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("logits", to_f32(env, out_.logits));
    o.Set("hiddenPre", to_f32(env, out_.hidden_pre));
    o.Set("hiddenPost", to_f32(env, out_.hidden_post));
    deferred_.Resolve(o);
  }

 private:
  std::vector<int32_t> tokens_;
  LogitsMode mode_;
  ForwardOut out_;
};

class MtpWorker : public SessionWorker {
 public:
  MtpWorker(Napi::Env env, std::shared_ptr<Session> s, std::vector<float> hidden, std::vector<int32_t> tokens, LogitsMode mode)
      : SessionWorker(env, std::move(s)), hidden_(std::move(hidden)), tokens_(std::move(tokens)), mode_(mode) {}

 protected:
  void run() override { s_->mtp_forward(hidden_.data(), tokens_.data(), static_cast<int64_t>(tokens_.size()), mode_, out_); }
  void OnOK() override {
    s_->busy = false;
    Napi::Env env = Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("logits", to_f32(env, out_.logits));
    o.Set("hidden", to_f32(env, out_.hidden));
    deferred_.Resolve(o);
  }

 private:
  std::vector<float> hidden_;
  std::vector<int32_t> tokens_;
  LogitsMode mode_;
  MtpOut out_;
};

// Marks the session busy; false (with a JS exception) if a forward is already running on it.
bool claim(Napi::Env env, Session& s) {
  bool expected = false;
  if (!s.busy.compare_exchange_strong(expected, true)) return fail(env, "the session is busy: await the previous forward first");
  return true;
}

// Claims the session, then queues the worker made by `make`; returns its promise.
template <typename Make>
Napi::Value queue(Napi::Env env, Session& s, Make make) {
  if (!claim(env, s)) return env.Undefined();
  SessionWorker* w = make();
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

Napi::Value EngineLoad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    fail(env, "engineLoad(plan) expects a plan object");
    return env.Undefined();
  }
  try {
    LoadPlan plan = parse_plan(info[0].As<Napi::Object>());
    auto* h = new ModelHolder{engine::load_model(plan)};
    return Napi::External<ModelHolder>::New(env, h, [](Napi::Env, ModelHolder* p) { delete p; });
  } catch (const std::exception& e) {
    fail(env, e.what());
    return env.Undefined();
  }
}

Napi::Value ModelInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsExternal()) {
    fail(env, "expected a model handle");
    return env.Undefined();
  }
  auto* h = info[0].As<Napi::External<ModelHolder>>().Data();
  if (!h->model) {
    fail(env, "the model is closed");
    return env.Undefined();
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("weightBytesPerToken", Napi::Number::New(env, static_cast<double>(h->model->bytes_per_token)));
  o.Set("threads", Napi::Number::New(env, h->model->pool->size()));
  return o;
}

Napi::Value ModelClose(const Napi::CallbackInfo& info) {
  if (info.Length() >= 1 && info[0].IsExternal()) info[0].As<Napi::External<ModelHolder>>().Data()->model.reset();
  return info.Env().Undefined();
}

Napi::Value SessionNew(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsExternal() || !info[1].IsNumber()) {
    fail(env, "sessionNew(model, maxContext)");
    return env.Undefined();
  }
  auto* h = info[0].As<Napi::External<ModelHolder>>().Data();
  if (!h->model) {
    fail(env, "the model is closed");
    return env.Undefined();
  }
  auto* s = new SessionHolder{std::make_shared<Session>(h->model, info[1].As<Napi::Number>().Int64Value())};
  return Napi::External<SessionHolder>::New(env, s, [](Napi::Env, SessionHolder* p) { delete p; });
}

LogitsMode mode_of(const Napi::Value& v) {
  int m = v.IsNumber() ? v.As<Napi::Number>().Int32Value() : 0;
  if (m < 0 || m > 2) throw std::runtime_error("logits mode must be 0, 1 or 2");
  return static_cast<LogitsMode>(m);
}

Napi::Value SessionForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<Session> s;
  if (!session_of(info, &s)) return env.Undefined();
  try {
    std::vector<int32_t> tokens = tokens_of(info[1]);
    LogitsMode mode = mode_of(info[2]);
    return queue(env, *s, [&]() { return new ForwardWorker(env, s, std::move(tokens), mode); });
  } catch (const std::exception& e) {
    fail(env, e.what());
    return env.Undefined();
  }
}

Napi::Value SessionMtpForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<Session> s;
  if (!session_of(info, &s)) return env.Undefined();
  try {
    if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
      throw std::runtime_error("hidden must be a Float32Array");
    }
    Napi::Float32Array h = info[1].As<Napi::Float32Array>();
    std::vector<int32_t> tokens = tokens_of(info[2]);
    LogitsMode mode = mode_of(info[3]);
    const size_t H = static_cast<size_t>(s->model().cfg.hidden);
    if (h.ElementLength() != tokens.size() * H) {
      throw std::runtime_error("hidden has " + std::to_string(h.ElementLength()) + " values, expected " + std::to_string(tokens.size()) + " rows of " + std::to_string(H));
    }
    return queue(env, *s, [&]() { return new MtpWorker(env, s, std::vector<float>(h.Data(), h.Data() + h.ElementLength()), std::move(tokens), mode); });
  } catch (const std::exception& e) {
    fail(env, e.what());
    return env.Undefined();
  }
}

// Synchronous session operations: rollback / mtpRollback / reset / positions.
Napi::Value SessionOp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<Session> s;
  if (!session_of(info, &s)) return env.Undefined();
  std::string op = info[1].As<Napi::String>().Utf8Value();
  try {
    if (op == "position") return Napi::Number::New(env, static_cast<double>(s->position()));
    if (op == "mtpPosition") return Napi::Number::New(env, static_cast<double>(s->mtp_position()));
    if (s->busy) throw std::runtime_error("the session is busy: await the running forward first");
    if (op == "rollback") s->rollback(info[2].As<Napi::Number>().Int64Value());
    else if (op == "mtpRollback") s->mtp_rollback(info[2].As<Napi::Number>().Int64Value());
    else if (op == "reset") s->reset();
    else throw std::runtime_error("unknown session op '" + op + "'");
  } catch (const std::exception& e) {
    fail(env, e.what());
  }
  return env.Undefined();
}

}  // namespace

void InitEngine(Napi::Env env, Napi::Object exports) {
  exports.Set("engineLoad", Napi::Function::New(env, EngineLoad));
  exports.Set("engineModelInfo", Napi::Function::New(env, ModelInfo));
  exports.Set("engineModelClose", Napi::Function::New(env, ModelClose));
  exports.Set("engineSessionNew", Napi::Function::New(env, SessionNew));
  exports.Set("engineSessionForward", Napi::Function::New(env, SessionForward));
  exports.Set("engineSessionMtpForward", Napi::Function::New(env, SessionMtpForward));
  exports.Set("engineSessionOp", Napi::Function::New(env, SessionOp));
}

}  // namespace mtpkit
