// A fast stand-in for FCM HTTP v1 and Google's OAuth2 token endpoint, for
// bench/push.sh only: it answers every well-formed send with success and
// counts what it received, so the benchmark measures Kontor and not the
// peer. The protocol-checking servers with fault injection are in
// tests/servers/ (Node); they are too slow to stand beside a 30,000/s sender.
//
// Real FCM is HTTP/2, and an HTTP/1.1 sink would cap the benchmark at one
// request per round trip and a syscall pair per message, so the sink speaks
// HTTP/2 through libnghttp2, next to HTTP/1.1 (Beast) for clients that only
// speak that (Kontor's OAuth2 token fetch, the benchmark driver's Python
// urllib), on one port:
//   - Without --tls, PORT is cleartext: a connection whose first bytes are the
//     HTTP/2 client preface ("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") is served as
//     HTTP/2 with prior knowledge (h2c, no Upgrade), any other as HTTP/1.1.
//   - With --tls, PORT is TLS 1.2/1.3 (OpenSSL, default ciphers, no client
//     certificates), as FCM is: ALPN picks "h2" when the client offers it,
//     else "http/1.1"; without ALPN the preface decides, as in cleartext.
//     libcurl before 8.0 (Debian 12's 7.88.1) cannot reuse an h2c connection
//     (curl #10634: only its first request succeeds) but multiplexes h2 over
//     TLS fine.
//   - --stats-port P adds a cleartext listener on P serving the same endpoints
//     the same way, for the driver's GET /stats beside a TLS PORT.
// Both listen on 127.0.0.1 only.
//
// THREADS (default 1) event loops each serve many connections; an HTTP/2
// connection feeds whatever one read returned to nghttp2 (over TLS, where a
// read returns one record, whatever else OpenSSL already holds too) and sends
// every frame that produced with one write. The server allows 1000 concurrent
// streams and 16 MiB stream and connection windows, so flow control never
// stalls the sender.
//
//   fcm_sink PORT [THREADS] [--tls CERT.pem KEY.pem] [--stats-port P]
//                                    prints "listening PORT" once every listener is
//                                    bound, then "stats P" with --stats-port (PORT or
//                                    P 0: any free port, printed)
//   POST /token                      → 200 {"access_token":"bench-token","expires_in":3600,
//                                              "token_type":"Bearer"}
//   POST /v1/projects/{p}/messages:send
//                                    → 200 {"name":"projects/{p}/messages/N"} given
//                                      "authorization: Bearer bench-token" and a body containing
//                                      "token"; otherwise 400 with an FCM-style error, counted
//                                      in "bad"
//   GET  /stats                      → {"received":N,"bad":N,"first_ms":..,"last_ms":..}
//                                      (first_ms, last_ms: Unix ms of the first and last
//                                      successful send; 0 before any)
//   anything else                    → 404
#include <nghttp2/nghttp2.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using TlsStream = asio::ssl::stream<tcp::socket>;

namespace {

constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
constexpr int32_t kWindow = 16 << 20;
constexpr uint32_t kMaxConcurrentStreams = 1000;
// Frames drained from nghttp2 into one write, at most.
constexpr size_t kMaxWrite = 1 << 20;
// Bytes an HTTP/2 connection over TLS feeds nghttp2 per read, at most (see
// ReceiveBuffered).
constexpr size_t kMaxDrain = 256 << 10;

std::atomic<int64_t> g_received{0};
std::atomic<int64_t> g_bad{0};
std::atomic<int64_t> g_first_ms{0};
std::atomic<int64_t> g_last_ms{0};

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Reply {
  int status = 200;
  std::string body;
};

// The endpoints, shared by the HTTP/1.1 and HTTP/2 paths.
Reply Answer(std::string_view method, std::string_view path, std::string_view authorization,
             std::string_view body) {
  constexpr std::string_view kSendPrefix = "/v1/projects/";
  constexpr std::string_view kSendSuffix = "/messages:send";
  if (method == "POST" && path == "/token") {
    return {200, R"({"access_token":"bench-token","expires_in":3600,"token_type":"Bearer"})"};
  }
  if (method == "POST" && path.size() > kSendPrefix.size() + kSendSuffix.size() &&
      path.starts_with(kSendPrefix) && path.ends_with(kSendSuffix)) {
    // The checks a real FCM makes first: a bearer token and a message with
    // a token; anything else is a 400 the benchmark would show as failures.
    if (authorization != "Bearer bench-token" || body.find("\"token\"") == body.npos) {
      ++g_bad;
      return {400, R"({"error":{"code":400,"status":"INVALID_ARGUMENT","message":"bad request"}})"};
    }
    const int64_t n = ++g_received;
    const int64_t now = NowMs();
    int64_t zero = 0;
    g_first_ms.compare_exchange_strong(zero, now);
    g_last_ms.store(now);
    // "projects/{p}" without the leading "/v1/".
    const std::string_view project = path.substr(4, path.size() - 4 - kSendSuffix.size());
    std::string name;
    name.reserve(32 + project.size());
    name.append("{\"name\":\"").append(project).append("/messages/");
    name.append(std::to_string(n)).append("\"}");
    return {200, std::move(name)};
  }
  if (method == "GET" && path == "/stats") {
    return {200, "{\"received\":" + std::to_string(g_received.load()) +
                     ",\"bad\":" + std::to_string(g_bad.load()) +
                     ",\"first_ms\":" + std::to_string(g_first_ms.load()) +
                     ",\"last_ms\":" + std::to_string(g_last_ms.load()) + "}"};
  }
  return {404, R"({"error":{"code":404,"status":"NOT_FOUND"}})"};
}

// Ends a connection: cleartext with a FIN, then close.
void EndConnection(tcp::socket& socket, const std::shared_ptr<void>& /*owner*/) {
  beast::error_code ec;
  socket.shutdown(tcp::socket::shutdown_send, ec);
  socket.close(ec);
}

// TLS with a close_notify first, waiting up to a second for the peer's (or
// its FIN) before closing; `owner` keeps `stream` alive until then. Any read
// or write still in flight completes first or fails when the socket closes.
void EndConnection(TlsStream& stream, const std::shared_ptr<void>& owner) {
  auto timer = std::make_shared<asio::steady_timer>(stream.get_executor(), std::chrono::seconds(1));
  timer->async_wait([&stream, owner](beast::error_code ec) {
    if (ec != asio::error::operation_aborted) stream.lowest_layer().close(ec);
  });
  stream.async_shutdown([&stream, owner, timer](beast::error_code ec) {
    timer->cancel();
    stream.lowest_layer().close(ec);
  });
}

// HTTP/1.1 with keep-alive, one request at a time, over a tcp::socket or a
// TlsStream.
template <class Transport>
class Http1Connection : public std::enable_shared_from_this<Http1Connection<Transport>> {
 public:
  // `initial` holds the bytes already read while looking for the preface.
  Http1Connection(Transport stream, std::string_view initial) : stream_(std::move(stream)) {
    auto space = buffer_.prepare(initial.size());
    std::memcpy(space.data(), initial.data(), initial.size());
    buffer_.commit(initial.size());
  }

  void Start() { Read(); }

 private:
  void Read() {
    req_ = {};
    http::async_read(stream_, buffer_, req_,
                     [self = this->shared_from_this()](beast::error_code ec, size_t) {
                       if (ec) return self->Close();
                       self->Respond();
                     });
  }

  void Respond() {
    Reply reply =
        Answer(req_.method_string(), req_.target(), req_[http::field::authorization], req_.body());
    res_ = {static_cast<http::status>(reply.status), req_.version()};
    res_.set(http::field::content_type, "application/json");
    res_.keep_alive(req_.keep_alive());
    res_.body() = std::move(reply.body);
    res_.prepare_payload();
    http::async_write(stream_, res_,
                      [self = this->shared_from_this()](beast::error_code ec, size_t) {
                        if (ec || !self->res_.keep_alive()) return self->Close();
                        self->Read();
                      });
  }

  void Close() { EndConnection(stream_, this->shared_from_this()); }

  Transport stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
};

// HTTP/2 over one connection (a tcp::socket or a TlsStream): reads are fed to
// nghttp2 as they come; the frames nghttp2 queues in response go out together
// in one write, and while a write is in flight new frames wait in nghttp2 for
// the next one.
template <class Transport>
class Http2Connection : public std::enable_shared_from_this<Http2Connection<Transport>> {
 public:
  // `initial` holds the bytes already read while looking for the preface
  // (which nghttp2 checks); empty after ALPN chose "h2".
  Http2Connection(Transport stream, std::string_view initial)
      : stream_(std::move(stream)), initial_(initial) {}

  ~Http2Connection() {
    if (session_) nghttp2_session_del(session_);
  }

  void Start() {
    nghttp2_session_callbacks* callbacks;
    nghttp2_session_callbacks_new(&callbacks);
    nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, OnBeginHeaders);
    nghttp2_session_callbacks_set_on_header_callback(callbacks, OnHeader);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, OnDataChunk);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, OnFrame);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, OnStreamClose);
    nghttp2_option* option;
    nghttp2_option_new(&option);
    // Closed streams are kept only for RFC 7540 priorities, which no one here uses.
    nghttp2_option_set_no_closed_streams(option, 1);
    const int rv = nghttp2_session_server_new2(&session_, callbacks, this, option);
    nghttp2_option_del(option);
    nghttp2_session_callbacks_del(callbacks);
    if (rv != 0) return Close();
    if constexpr (std::is_same_v<Transport, TlsStream>) {
      // For ReceiveBuffered; asynchronous operations are unaffected.
      beast::error_code ec;
      stream_.next_layer().non_blocking(true, ec);
    }

    const nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, kMaxConcurrentStreams},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<uint32_t>(kWindow)},
    };
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
    // The connection window is not a setting: it grows by a WINDOW_UPDATE
    // on stream 0, which this queues.
    nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, kWindow);

    const std::string initial = std::move(initial_);
    if (!Receive(reinterpret_cast<const uint8_t*>(initial.data()), initial.size())) return;
    Flush();
    if (!closed_) Read();
  }

 private:
  struct Stream {
    std::string method;
    std::string path;
    std::string authorization;
    std::string body;
    std::string response;
    std::string content_length;
    size_t sent = 0;  // Bytes of `response` handed to nghttp2.
  };

  void Read() {
    stream_.async_read_some(asio::buffer(read_buffer_),
                            [self = this->shared_from_this()](beast::error_code ec, size_t n) {
                              if (self->closed_) return;
                              if (ec) return self->Close();
                              if (!self->Receive(self->read_buffer_.data(), n)) return;
                              if (!self->ReceiveBuffered()) return;
                              self->Flush();
                              if (!self->closed_) self->Read();
                            });
  }

  // Over TLS one read returns one TLS record, and a client that writes each
  // frame as it is ready (libcurl) sends a record per frame: flushing after
  // each would cost a write per request. So this feeds nghttp2 the records
  // OpenSSL already holds (decrypted, or still in asio's BIO pair) too, up to
  // kMaxDrain bytes, reading synchronously from the non-blocking socket
  // (would_block when a record is incomplete). Not while a write is in flight:
  // frames wait for it anyway, and a synchronous read may itself write (say,
  // the answer to a TLS 1.3 KeyUpdate), which must not interleave with it.
  // Cleartext: nothing to do.
  bool ReceiveBuffered() {
    if constexpr (std::is_same_v<Transport, TlsStream>) {
      SSL* ssl = stream_.native_handle();
      size_t drained = 0;
      while (!writing_ && drained < kMaxDrain &&
             (SSL_pending(ssl) > 0 || BIO_ctrl_pending(SSL_get_rbio(ssl)) > 0)) {
        beast::error_code ec;
        const size_t n = stream_.read_some(asio::buffer(read_buffer_), ec);
        if (ec == asio::error::would_block) break;
        if (ec) {
          Close();
          return false;
        }
        if (!Receive(read_buffer_.data(), n)) return false;
        drained += n;
      }
    }
    return true;
  }

  // Feeds bytes to nghttp2, which calls back into the On* functions below.
  bool Receive(const uint8_t* data, size_t size) {
    const ssize_t rv = nghttp2_session_mem_recv(session_, data, size);
    if (rv < 0) {
      // A connection error (a bad preface, a protocol violation): send the
      // GOAWAY nghttp2 may have queued, then close.
      nghttp2_session_terminate_session(session_, NGHTTP2_PROTOCOL_ERROR);
      closing_ = true;
      Flush();
      return false;
    }
    return true;
  }

  // Starts a write of everything nghttp2 has queued, unless one is in flight
  // (its completion calls Flush again); closes once nghttp2 is done with the
  // connection.
  void Flush() {
    if (writing_ || closed_) return;
    out_.clear();
    const uint8_t* data;
    ssize_t n = 0;
    while (out_.size() < kMaxWrite && (n = nghttp2_session_mem_send(session_, &data)) > 0) {
      out_.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
    }
    if (n < 0) return Close();
    if (out_.empty()) {
      if (closing_ ||
          (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_))) {
        Close();
      }
      return;
    }
    writing_ = true;
    asio::async_write(stream_, asio::buffer(out_),
                      [self = this->shared_from_this()](beast::error_code ec, size_t) {
                        self->writing_ = false;
                        if (self->closed_) return;
                        if (ec) return self->Close();
                        self->Flush();
                      });
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    EndConnection(stream_, this->shared_from_this());
  }

  void Respond(int32_t stream_id, Stream& stream) {
    Reply reply = Answer(stream.method, stream.path, stream.authorization, stream.body);
    stream.response = std::move(reply.body);
    stream.content_length = std::to_string(stream.response.size());
    const char* status = reply.status == 200 ? "200" : reply.status == 400 ? "400" : "404";
    auto header = [](std::string_view name, std::string_view value, uint8_t flags) {
      return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                        reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(),
                        value.size(), flags};
    };
    // Names and literal values outlive the frame; content-length is copied.
    constexpr uint8_t kStatic = NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE;
    const nghttp2_nv headers[] = {
        header(":status", status, kStatic),
        header("content-type", "application/json", kStatic),
        header("content-length", stream.content_length, NGHTTP2_NV_FLAG_NO_COPY_NAME),
    };
    nghttp2_data_provider provider;
    provider.source.ptr = &stream;
    provider.read_callback = ReadBody;
    if (nghttp2_submit_response(session_, stream_id, headers, std::size(headers), &provider) != 0) {
      nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_INTERNAL_ERROR);
    }
  }

  static Http2Connection* Self(void* user_data) { return static_cast<Http2Connection*>(user_data); }

  static int OnBeginHeaders(nghttp2_session* session, const nghttp2_frame* frame, void* user_data) {
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    auto stream = std::make_unique<Stream>();
    nghttp2_session_set_stream_user_data(session, frame->hd.stream_id, stream.get());
    Self(user_data)->streams_[frame->hd.stream_id] = std::move(stream);
    return 0;
  }

  static int OnHeader(nghttp2_session* session, const nghttp2_frame* frame, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t /*flags*/,
                      void* /*user_data*/) {
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    auto* stream =
        static_cast<Stream*>(nghttp2_session_get_stream_user_data(session, frame->hd.stream_id));
    if (!stream) return 0;
    const std::string_view n(reinterpret_cast<const char*>(name), namelen);
    const std::string_view v(reinterpret_cast<const char*>(value), valuelen);
    if (n == ":method") {
      stream->method = v;
    } else if (n == ":path") {
      stream->path = v;
    } else if (n == "authorization") {
      stream->authorization = v;
    }
    return 0;
  }

  static int OnDataChunk(nghttp2_session* session, uint8_t /*flags*/, int32_t stream_id,
                         const uint8_t* data, size_t len, void* /*user_data*/) {
    auto* stream = static_cast<Stream*>(nghttp2_session_get_stream_user_data(session, stream_id));
    if (stream) stream->body.append(reinterpret_cast<const char*>(data), len);
    return 0;
  }

  static int OnFrame(nghttp2_session* session, const nghttp2_frame* frame, void* user_data) {
    // The request is complete when its HEADERS (no body), DATA or trailers
    // end the stream.
    if ((frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) ||
        !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
      return 0;
    }
    auto* stream =
        static_cast<Stream*>(nghttp2_session_get_stream_user_data(session, frame->hd.stream_id));
    if (stream) Self(user_data)->Respond(frame->hd.stream_id, *stream);
    return 0;
  }

  static int OnStreamClose(nghttp2_session* /*session*/, int32_t stream_id, uint32_t /*error_code*/,
                           void* user_data) {
    Self(user_data)->streams_.erase(stream_id);
    return 0;
  }

  static ssize_t ReadBody(nghttp2_session* /*session*/, int32_t /*stream_id*/, uint8_t* buf,
                          size_t length, uint32_t* data_flags, nghttp2_data_source* source,
                          void* /*user_data*/) {
    auto* stream = static_cast<Stream*>(source->ptr);
    const size_t n = std::min(length, stream->response.size() - stream->sent);
    std::memcpy(buf, stream->response.data() + stream->sent, n);
    stream->sent += n;
    if (stream->sent == stream->response.size()) *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }

  Transport stream_;
  std::string initial_;
  nghttp2_session* session_ = nullptr;
  // Owns the per-stream state (nghttp2 holds raw pointers to it); whatever
  // is left when the session goes is freed with the connection.
  std::unordered_map<int32_t, std::unique_ptr<Stream>> streams_;
  std::array<uint8_t, 64 * 1024> read_buffer_;
  std::string out_;
  bool writing_ = false;
  bool closing_ = false;
  bool closed_ = false;
};

// Reads the first bytes of a connection until they either are the HTTP/2
// client preface or cannot be, then hands the connection over.
template <class Transport>
class Detector : public std::enable_shared_from_this<Detector<Transport>> {
 public:
  explicit Detector(Transport stream) : stream_(std::move(stream)) {}

  void Start() { Read(); }

 private:
  void Read() {
    stream_.async_read_some(asio::buffer(buffer_.data() + size_, buffer_.size() - size_),
                            [self = this->shared_from_this()](beast::error_code ec, size_t n) {
                              if (ec) return;  // The socket closes with the Detector.
                              self->size_ += n;
                              self->Decide();
                            });
  }

  void Decide() {
    const std::string_view seen(buffer_.data(), size_);
    const size_t compared = std::min(seen.size(), kPreface.size());
    if (seen.substr(0, compared) != kPreface.substr(0, compared)) {
      std::make_shared<Http1Connection<Transport>>(std::move(stream_), seen)->Start();
    } else if (compared == kPreface.size()) {
      std::make_shared<Http2Connection<Transport>>(std::move(stream_), seen)->Start();
    } else {
      Read();
    }
  }

  Transport stream_;
  std::array<char, 4096> buffer_;
  size_t size_ = 0;
};

// Runs the TLS handshake, then serves HTTP/2 if ALPN chose "h2" and otherwise
// lets the first bytes decide.
class TlsHandshake : public std::enable_shared_from_this<TlsHandshake> {
 public:
  explicit TlsHandshake(TlsStream stream) : stream_(std::move(stream)) {}

  void Start() {
    stream_.async_handshake(TlsStream::server, [self = shared_from_this()](beast::error_code ec) {
      if (ec) return;  // The socket closes with the TlsHandshake.
      self->HandOver();
    });
  }

 private:
  void HandOver() {
    const unsigned char* protocol = nullptr;
    unsigned int length = 0;
    SSL_get0_alpn_selected(stream_.native_handle(), &protocol, &length);
    if (std::string_view(reinterpret_cast<const char*>(protocol), length) == "h2") {
      std::make_shared<Http2Connection<TlsStream>>(std::move(stream_), "")->Start();
    } else {
      std::make_shared<Detector<TlsStream>>(std::move(stream_))->Start();
    }
  }

  TlsStream stream_;
};

// ALPN: "h2" if the client offers it, else "http/1.1" if offered, else none
// (the connection goes on without ALPN).
int SelectProtocol(SSL* /*ssl*/, const unsigned char** out, unsigned char* outlen,
                   const unsigned char* in, unsigned int inlen, void* /*arg*/) {
  const unsigned char* http1 = nullptr;
  // `in` is the client's list: each protocol name prefixed by its length.
  for (unsigned int i = 0; i < inlen && in[i] <= inlen - i - 1; i += 1 + in[i]) {
    const std::string_view name(reinterpret_cast<const char*>(in + i + 1), in[i]);
    if (name == "h2") {
      *out = in + i + 1;
      *outlen = in[i];
      return SSL_TLSEXT_ERR_OK;
    }
    if (name == "http/1.1" && !http1) http1 = in + i;
  }
  if (!http1) return SSL_TLSEXT_ERR_NOACK;
  *out = http1 + 1;
  *outlen = *http1;
  return SSL_TLSEXT_ERR_OK;
}

// TLS 1.2 or 1.3 with OpenSSL's default ciphers; throws if the files will not
// load.
std::unique_ptr<asio::ssl::context> MakeTlsContext(const std::string& cert,
                                                   const std::string& key) {
  auto context = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
  SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION);
  context->set_options(asio::ssl::context::default_workarounds);
  context->use_certificate_chain_file(cert);
  context->use_private_key_file(key, asio::ssl::context::pem);
  SSL_CTX_set_alpn_select_cb(context->native_handle(), SelectProtocol, nullptr);
  return context;
}

// Accepts on the first loop and spreads connections over all of them; `tls`
// (may be null: cleartext) must outlive the Server.
class Server {
 public:
  Server(std::vector<std::unique_ptr<asio::io_context>>& loops, unsigned short port,
         asio::ssl::context* tls)
      : loops_(loops),
        tls_(tls),
        acceptor_(*loops[0], {asio::ip::make_address("127.0.0.1"), port}) {}

  unsigned short port() const { return acceptor_.local_endpoint().port(); }

  void Accept() {
    asio::io_context& loop = *loops_[next_++ % loops_.size()];
    acceptor_.async_accept(loop, [this, &loop](beast::error_code ec, tcp::socket socket) {
      if (!ec) {
        socket.set_option(tcp::no_delay(true), ec);
        // Everything about the connection runs on its own loop.
        asio::post(loop, [socket = std::move(socket), tls = tls_]() mutable {
          if (tls) {
            std::make_shared<TlsHandshake>(TlsStream(std::move(socket), *tls))->Start();
          } else {
            std::make_shared<Detector<tcp::socket>>(std::move(socket))->Start();
          }
        });
      }
      Accept();
    });
  }

 private:
  std::vector<std::unique_ptr<asio::io_context>>& loops_;
  asio::ssl::context* tls_;
  tcp::acceptor acceptor_;
  size_t next_ = 0;
};

struct Options {
  int port = -1;
  int threads = 1;
  std::string cert;  // With `key`: TLS on `port`; empty: cleartext.
  std::string key;
  int stats_port = -1;  // -1: no stats listener.
};

// Parses `PORT [THREADS] [--tls CERT.pem KEY.pem] [--stats-port P]`; false on
// anything else.
bool ParseOptions(int argc, char** argv, Options& options) {
  auto to_port = [](const char* arg, int& port) {
    const int value = std::stoi(arg);
    if (value < 0 || value > 65535) return false;
    port = value;
    return true;
  };
  int positional = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--tls" && i + 2 < argc) {
      options.cert = argv[++i];
      options.key = argv[++i];
    } else if (arg == "--stats-port" && i + 1 < argc) {
      if (!to_port(argv[++i], options.stats_port)) return false;
    } else if (arg.starts_with("--")) {
      return false;
    } else if (positional == 0) {
      if (!to_port(argv[i], options.port)) return false;
      ++positional;
    } else if (positional == 1) {
      options.threads = std::max(1, std::stoi(argv[i]));
      ++positional;
    } else {
      return false;
    }
  }
  return positional >= 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  bool parsed = false;
  try {
    parsed = ParseOptions(argc, argv, options);
  } catch (const std::exception&) {  // std::stoi on a non-number.
  }
  if (!parsed) {
    std::fprintf(stderr,
                 "usage: fcm_sink PORT [THREADS] [--tls CERT.pem KEY.pem] [--stats-port P]\n");
    return 2;
  }
  std::unique_ptr<asio::ssl::context> tls;
  if (!options.cert.empty()) {
    try {
      tls = MakeTlsContext(options.cert, options.key);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "fcm_sink: --tls %s %s: %s\n", options.cert.c_str(), options.key.c_str(),
                   e.what());
      return 1;
    }
  }
  std::vector<std::unique_ptr<asio::io_context>> loops;
  for (int i = 0; i < options.threads; ++i) {
    loops.push_back(std::make_unique<asio::io_context>(1));
  }
  Server server(loops, static_cast<unsigned short>(options.port), tls.get());
  std::unique_ptr<Server> stats;
  if (options.stats_port >= 0) {
    stats =
        std::make_unique<Server>(loops, static_cast<unsigned short>(options.stats_port), nullptr);
  }
  std::printf("listening %d\n", server.port());
  if (stats) std::printf("stats %d\n", stats->port());
  std::fflush(stdout);
  server.Accept();
  if (stats) stats->Accept();
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  for (auto& loop : loops) guards.push_back(asio::make_work_guard(*loop));
  std::vector<std::thread> workers;
  for (int i = 1; i < options.threads; ++i) {
    workers.emplace_back([&loops, i] { loops[i]->run(); });
  }
  loops[0]->run();
  for (auto& worker : workers) worker.join();
}
