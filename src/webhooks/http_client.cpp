#include "webhooks/http_client.h"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <optional>

namespace kontor::webhooks {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;

struct HttpClient::Impl {
  ssl::context tls{ssl::context::tls_client};
  bool allow_private_networks = false;
};

HttpClient::HttpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpClient::~HttpClient() = default;

Result<std::unique_ptr<HttpClient>> HttpClient::Create(const std::string& ca_file,
                                                       bool allow_private_networks) {
  auto impl = std::make_unique<Impl>();
  impl->allow_private_networks = allow_private_networks;
  boost::system::error_code ec;
  impl->tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                        ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  if (ca_file.empty()) {
    impl->tls.set_default_verify_paths(ec);
  } else {
    impl->tls.load_verify_file(ca_file, ec);
  }
  if (ec) {
    return Status::InvalidArgument("webhooks: cannot load CA certificates" +
                                   (ca_file.empty() ? std::string() : " from " + ca_file) + ": " +
                                   ec.message());
  }
  impl->tls.set_verify_mode(ssl::verify_peer);
  return std::unique_ptr<HttpClient>(new HttpClient(std::move(impl)));
}

namespace {

bool IsInternal(const asio::ip::address& a) {
  if (a.is_unspecified() || a.is_loopback() || a.is_multicast()) return true;
  if (a.is_v6()) {
    const auto v6 = a.to_v6();
    if (v6.is_v4_mapped()) return IsInternal(asio::ip::make_address_v4(asio::ip::v4_mapped, v6));
    const auto b = v6.to_bytes();
    return v6.is_link_local() || v6.is_site_local() || (b[0] & 0xfe) == 0xfc;  // fc00::/7
  }
  const auto b = a.to_v4().to_bytes();
  return b[0] == 10 || b[0] == 0 || (b[0] == 172 && (b[1] & 0xf0) == 16) ||
         (b[0] == 192 && b[1] == 168) || (b[0] == 169 && b[1] == 254) ||
         (b[0] == 100 && (b[1] & 0xc0) == 64);  // + CGNAT 100.64/10
}

struct Target {
  bool https = false;
  std::string host;  // without IPv6 brackets
  std::string port;
  std::string host_header;
  std::string path;  // origin-form: path and query
};

std::optional<Target> ParseTarget(const std::string& url) {
  auto u = boost::urls::parse_absolute_uri(url);
  if (!u) return std::nullopt;
  Target t;
  const std::string scheme(u->scheme());
  if (scheme != "http" && scheme != "https") return std::nullopt;
  t.https = scheme == "https";
  t.host = std::string(u->host_address());
  if (t.host.empty()) return std::nullopt;
  t.port = u->has_port() && !u->port().empty() ? std::string(u->port()) : t.https ? "443" : "80";
  t.host_header = std::string(u->encoded_host_and_port());
  t.path = std::string(u->encoded_path());
  if (t.path.empty()) t.path = "/";
  if (u->has_query()) t.path += "?" + std::string(u->encoded_query());
  return t;
}

std::string Describe(const char* stage, const boost::system::error_code& ec) {
  if (ec.category() == asio::error::get_ssl_category()) {
    // OpenSSL's reason ("certificate verify failed") says more than the code.
    std::string reason = ec.message();
    return std::string("TLS ") + stage + ": " + reason;
  }
  return std::string(stage) + ": " + ec.message();
}

// Runs the exchange on `stream` (a tcp_stream or an ssl_stream over one).
template <typename Stream>
asio::awaitable<void> Exchange(Stream& stream, const Target& t, const PostRequest& req,
                               PostResult& out, const char*& stage) {
  bhttp::request<bhttp::string_body> msg{bhttp::verb::post, t.path, 11};
  msg.set(bhttp::field::host, t.host_header);
  msg.set(bhttp::field::connection, "close");
  for (const auto& [k, v] : req.headers) msg.set(k, v);
  msg.body() = req.body;
  msg.prepare_payload();
  stage = "send";
  co_await bhttp::async_write(stream, msg, asio::use_awaitable);

  stage = "receive";
  beast::flat_buffer buf;
  bhttp::response_parser<bhttp::buffer_body> parser;
  parser.header_limit(16 * 1024);
  co_await bhttp::async_read_header(stream, buf, parser, asio::use_awaitable);
  out.status = static_cast<int>(parser.get().result_int());
  // The status decides the outcome; the body is kept only as an excerpt for
  // the delivery log, so reading stops once that much has arrived.
  char chunk[4096];
  while (!parser.is_done() && out.body.size() < req.max_response_bytes) {
    parser.get().body().data = chunk;
    parser.get().body().size = sizeof(chunk);
    auto [ec, n] =
        co_await bhttp::async_read(stream, buf, parser, asio::as_tuple(asio::use_awaitable));
    out.body.append(chunk, sizeof(chunk) - parser.get().body().size);
    if (ec && ec != bhttp::error::need_buffer) break;
  }
  if (out.body.size() > req.max_response_bytes) out.body.resize(req.max_response_bytes);
}

}  // namespace

PostResult HttpClient::Post(const PostRequest& req) const {
  const auto started = std::chrono::steady_clock::now();
  PostResult out;
  auto finish = [&] {
    out.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now() - started)
                          .count();
    return out;
  };
  std::optional<Target> t = ParseTarget(req.url);
  if (!t) {
    out.error = "not an absolute http(s) URL";
    return finish();
  }

  asio::io_context ioc(1);
  tcp::resolver resolver(ioc);
  beast::ssl_stream<beast::tcp_stream> tls(ioc, impl_->tls);
  beast::tcp_stream& plain = beast::get_lowest_layer(tls);
  const char* stage = "resolve";
  bool timed_out = false;
  bool done = false;

  // One deadline for the whole exchange: on expiry, cancel whatever is
  // pending (the resolver or the socket), and the coroutine unwinds.
  asio::steady_timer deadline(ioc);
  deadline.expires_after(req.timeout);
  deadline.async_wait([&](const boost::system::error_code& ec) {
    if (ec || done) return;
    timed_out = true;
    resolver.cancel();
    boost::system::error_code ignored;
    plain.socket().close(ignored);
  });

  auto run = [&]() -> asio::awaitable<void> {
    auto endpoints = co_await resolver.async_resolve(t->host, t->port, asio::use_awaitable);
    if (!impl_->allow_private_networks) {
      for (const auto& e : endpoints) {
        if (IsInternal(e.endpoint().address())) {
          out.error = "refused: " + t->host + " resolves to an internal address (" +
                      e.endpoint().address().to_string() + "); see webhooks.allow_private_networks";
          co_return;
        }
      }
    }
    stage = "connect";
    co_await plain.async_connect(endpoints, asio::use_awaitable);
    if (t->https) {
      stage = "handshake";
      if (!SSL_set_tlsext_host_name(tls.native_handle(), t->host.c_str())) {
        throw boost::system::system_error(boost::system::error_code(
            static_cast<int>(::ERR_get_error()), asio::error::get_ssl_category()));
      }
      tls.set_verify_callback(ssl::host_name_verification(t->host));
      co_await tls.async_handshake(ssl::stream_base::client, asio::use_awaitable);
      co_await Exchange(tls, *t, req, out, stage);
    } else {
      co_await Exchange(plain, *t, req, out, stage);
    }
  };
  asio::co_spawn(ioc, run(), [&](std::exception_ptr e) {
    done = true;
    deadline.cancel();
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const boost::system::system_error& se) {
      if (out.status == 0) out.error = Describe(stage, se.code());
    } catch (const std::exception& ex) {
      if (out.status == 0) out.error = std::string(stage) + ": " + ex.what();
    }
  });
  ioc.run();
  if (timed_out && out.status == 0) {
    out.error = "timed out after " + std::to_string(req.timeout.count()) + " ms (" + stage + ")";
  }
  boost::system::error_code ignored;
  plain.socket().close(ignored);
  return finish();
}

}  // namespace kontor::webhooks
