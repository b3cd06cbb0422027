// Streaming sha256 for provenance checksums, computed with the OpenSSL that node itself links and
// exports (its sha256 uses SHA-NI on x86 and the ARMv8 SHA2 instructions when the CPU has them), on
// libuv's pool so the event loop never hashes:
//   sha256New() -> handle
//   sha256Update(handle, bytes: Uint8Array) -> Promise<void>
//   sha256UpdateFromFile(handle, fd, position, length) -> Promise<number>   (pread + hash, bytes read; < length at EOF)
//   sha256Digest(handle) -> hex string (the handle is finished afterwards)
// One call may be in flight per handle (the TypeScript wrapper chains them); a second one is refused
// with an error instead of racing on the digest state. Arguments are checked by src/native/sha256-stream.ts.
#include <napi.h>
#include <openssl/evp.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#if !defined(_WIN32)
#include <fcntl.h>
#include <unistd.h>
#endif

namespace mtpkit {
namespace {

struct Sha256State {
  EVP_MD_CTX* ctx = nullptr;
  std::atomic<bool> busy{false};
  bool finished = false;
  ~Sha256State() {
    if (ctx) EVP_MD_CTX_free(ctx);
  }
};

using Handle = Napi::External<Sha256State>;

Sha256State* state_of(const Napi::CallbackInfo& info, const char* fn) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsExternal()) {
    Napi::TypeError::New(env, std::string(fn) + ": expected a sha256 handle").ThrowAsJavaScriptException();
    return nullptr;
  }
  Sha256State* s = info[0].As<Handle>().Data();
  if (s->finished) {
    Napi::Error::New(env, std::string(fn) + ": digest already taken").ThrowAsJavaScriptException();
    return nullptr;
  }
  // Claimed here on the JS thread, released by the worker's completion (also on the JS thread).
  if (s->busy.exchange(true)) {
    Napi::Error::New(env, std::string(fn) + ": another update is still running on this handle").ThrowAsJavaScriptException();
    return nullptr;
  }
  return s;
}

Napi::Value New(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* s = new Sha256State();
  s->ctx = EVP_MD_CTX_new();
  if (!s->ctx || EVP_DigestInit_ex(s->ctx, EVP_sha256(), nullptr) != 1) {
    delete s;
    Napi::Error::New(env, "sha256: OpenSSL could not initialise a digest").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Handle::New(env, s, [](Napi::Env, Sha256State* p) { delete p; });
}

class UpdateWorker : public Napi::AsyncWorker {
 public:
  UpdateWorker(Napi::Env env, Sha256State* s, Napi::Object handle, Napi::Object bytes, const uint8_t* data, size_t n)
      : Napi::AsyncWorker(env, "mtpkit:sha256"), s_(s), data_(data), n_(n), deferred_(Napi::Promise::Deferred::New(env)) {
    // The handle and the bytes stay alive until the worker is done.
    handle_ = Napi::Persistent(handle);
    bytes_ = Napi::Persistent(bytes);
  }
  Napi::Promise promise() { return deferred_.Promise(); }
  void Execute() override {
    if (n_ && EVP_DigestUpdate(s_->ctx, data_, n_) != 1) SetError("sha256: OpenSSL update failed");
  }
  void OnOK() override {
    s_->busy = false;
    deferred_.Resolve(Env().Undefined());
  }
  void OnError(const Napi::Error& e) override {
    s_->busy = false;
    deferred_.Reject(e.Value());
  }

 private:
  Sha256State* s_;
  const uint8_t* data_;
  size_t n_;
  Napi::ObjectReference handle_, bytes_;
  Napi::Promise::Deferred deferred_;
};

Napi::Value Update(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    Napi::TypeError::New(env, "sha256Update: expected (handle, Uint8Array)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Sha256State* s = state_of(info, "sha256Update");
  if (!s) return env.Undefined();
  auto bytes = info[1].As<Napi::Uint8Array>();
  auto* w = new UpdateWorker(env, s, info[0].ToObject(), bytes, bytes.Data(), bytes.ByteLength());
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

// Reads [position, position + length) of an open file in 1 MiB pieces and hashes each piece while it
// is still in the CPU cache: one pass over the bytes instead of a read pass and a hash pass.
class FileWorker : public Napi::AsyncWorker {
 public:
  FileWorker(Napi::Env env, Sha256State* s, Napi::Object handle, int fd, double position, double length)
      : Napi::AsyncWorker(env, "mtpkit:sha256-file"), s_(s), fd_(fd), position_(position), length_(length),
        deferred_(Napi::Promise::Deferred::New(env)) {
    handle_ = Napi::Persistent(handle);
  }
  Napi::Promise promise() { return deferred_.Promise(); }
  void Execute() override {
#if defined(_WIN32)
    SetError("sha256UpdateFromFile: not supported on Windows");
#else
    constexpr size_t kPiece = 1 << 20;
    std::vector<uint8_t> buf(kPiece);
    uint64_t pos = static_cast<uint64_t>(position_);
    uint64_t left = static_cast<uint64_t>(length_);
#if defined(POSIX_FADV_WILLNEED)
    // Cold cache: ask the kernel to start reading this range and as much again after it (the caller's
    // next piece) now, so the disk works while this thread hashes instead of waiting piece by piece.
    (void)posix_fadvise(fd_, static_cast<off_t>(pos), static_cast<off_t>(2 * left), POSIX_FADV_WILLNEED);
#endif
    while (left > 0) {
      size_t want = left < kPiece ? static_cast<size_t>(left) : kPiece;
      ssize_t n = pread(fd_, buf.data(), want, static_cast<off_t>(pos));
      if (n < 0) {
        if (errno == EINTR) continue;
        SetError(std::string("sha256UpdateFromFile: read failed: ") + std::strerror(errno));
        return;
      }
      if (n == 0) break;  // end of file
      if (EVP_DigestUpdate(s_->ctx, buf.data(), static_cast<size_t>(n)) != 1) {
        SetError("sha256: OpenSSL update failed");
        return;
      }
      pos += static_cast<uint64_t>(n);
      left -= static_cast<uint64_t>(n);
      done_ += static_cast<uint64_t>(n);
    }
#endif
  }
  void OnOK() override {
    s_->busy = false;
    deferred_.Resolve(Napi::Number::New(Env(), static_cast<double>(done_)));
  }
  void OnError(const Napi::Error& e) override {
    s_->busy = false;
    deferred_.Reject(e.Value());
  }

 private:
  Sha256State* s_;
  int fd_;
  double position_, length_;
  uint64_t done_ = 0;
  Napi::ObjectReference handle_;
  Napi::Promise::Deferred deferred_;
};

Napi::Value UpdateFromFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[1].IsNumber() || !info[2].IsNumber() || !info[3].IsNumber()) {
    Napi::TypeError::New(env, "sha256UpdateFromFile: expected (handle, fd, position, length)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  double fd = info[1].As<Napi::Number>().DoubleValue();
  double position = info[2].As<Napi::Number>().DoubleValue();
  double length = info[3].As<Napi::Number>().DoubleValue();
  const double kMaxSafe = 9007199254740991.0;
  if (!(fd >= 0 && fd <= 2147483647.0 && fd == static_cast<int>(fd)) || !(position >= 0 && position <= kMaxSafe) ||
      !(length >= 0 && length <= kMaxSafe)) {
    Napi::RangeError::New(env, "sha256UpdateFromFile: fd, position and length must be non-negative integers").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Sha256State* s = state_of(info, "sha256UpdateFromFile");
  if (!s) return env.Undefined();
  auto* w = new FileWorker(env, s, info[0].ToObject(), static_cast<int>(fd), position, length);
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

Napi::Value Digest(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Sha256State* s = state_of(info, "sha256Digest");
  if (!s) return env.Undefined();
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  int ok = EVP_DigestFinal_ex(s->ctx, md, &len);
  s->finished = true;
  s->busy = false;
  if (ok != 1 || len != 32) {
    Napi::Error::New(env, "sha256: OpenSSL final failed").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  static const char kHex[] = "0123456789abcdef";
  std::string hex(64, '0');
  for (unsigned i = 0; i < 32; ++i) {
    hex[2 * i] = kHex[md[i] >> 4];
    hex[2 * i + 1] = kHex[md[i] & 15];
  }
  return Napi::String::New(env, hex);
}

}  // namespace

void InitSha256(Napi::Env env, Napi::Object exports) {
  exports.Set("sha256New", Napi::Function::New(env, New, "sha256New"));
  exports.Set("sha256Update", Napi::Function::New(env, Update, "sha256Update"));
  exports.Set("sha256UpdateFromFile", Napi::Function::New(env, UpdateFromFile, "sha256UpdateFromFile"));
  exports.Set("sha256Digest", Napi::Function::New(env, Digest, "sha256Digest"));
}

}  // namespace mtpkit
