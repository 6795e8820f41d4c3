// Server configuration: defaults, then a TOML file, then KONTOR_* environment
// variables (environment wins), then command-line flags (applied by main).
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace kontor {

struct Config {
  std::string listen = "127.0.0.1:8080";
  std::string db = "sqlite:./data/kontor.db";
  std::string log_level = "info";
  std::string log_format = "json";  // json | text
  std::string node_id;              // default: hostname-pid

  struct Http {
    int threads = 0;  // event loops; 0 = one per CPU core
    int max_body_bytes = 1 << 20;
    int max_header_bytes = 16 << 10;
    int header_timeout_s = 10;  // slow-client limit for the request head
    int body_timeout_s = 30;    // and for the whole request
    int idle_timeout_s = 60;    // keep-alive idle
    int shutdown_grace_s = 20;
    std::string web_root = "web/dist";
    int rate_limit_per_s = 0;  // per client address; 0 = off
  } http;

  struct Db {
    int pool_size = 8;
    int busy_timeout_ms = 5000;
  } database;

  struct Auth {
    int session_ttl_minutes = 720;
    int login_max_failures = 5;
    int login_window_minutes = 15;
    int lockout_minutes = 15;
    int token_cache_seconds = 5;
  } auth;

  struct Clients {
    int device_stale_days = 270;
  } clients;

  struct Jobs {
    int workers = 2;
    int lease_seconds = 30;
    int poll_ms = 500;
    bool enabled = true;
  } jobs;

  struct Webhooks {
    bool enabled = true;  // run the fan-out and delivery workers in this process
    int workers = 2;
    int poll_ms = 1000;
    int timeout_ms = 10000;
    int backoff_base_ms = 30000;
    int backoff_max_ms = 6 * 3600 * 1000;
    int max_attempts = 8;
    int disable_after_failures = 20;
    int retention_days = 30;
    std::string ca_file;                  // PEM bundle; empty = the system CA store
    bool allow_private_networks = false;  // endpoints on loopback/private addresses
  } webhooks;

  struct Payments {
    bool enabled = true;  // run the delivery workers and the cutoff jobs in this process
    int64_t same_day_limit_cents = 100000000;  // Nacha's per-entry same-day limit
    int64_t entry_max_cents = 9999999999;      // larger payments are split
    int delivery_parallel = 16;                // uploads at once
    int delivery_max_attempts = 10;
    int delivery_backoff_base_ms = 60000;
    int delivery_poll_ms = 5000;
    int delivery_lease_ms = 30000;             // another node takes over a crashed upload after this
  } payments;

  struct Messaging {
    bool enabled = true;  // run the dispatcher workers in this process
    std::string email_provider = "capture";  // capture | smtp
    std::string sms_provider = "capture";
    std::string push_provider = "capture";
    std::string smtp_url;
    std::string smtp_username;
    std::string smtp_password;
    std::string smtp_from = "Kontor <kontor@localhost>";
    std::string smtp_starttls = "required";  // required | opportunistic | off
    std::string smtp_ca_file;
    int smtp_timeout_ms = 30000;
    int workers_alert = 2;
    int workers_transactional = 2;
    int workers_bulk = 2;
    int poll_ms = 500;
    int lease_ms = 120000;
    int retry_base_ms = 5000;
    int retry_max_ms = 3600000;
    std::string fcm_service_account_file;
    std::string fcm_endpoint = "https://fcm.googleapis.com";
    std::string fcm_ca_file;                 // PEM; empty = the system store
    bool fcm_http2_prior_knowledge = false;  // h2c to a local http:// endpoint
    int fcm_max_concurrent = 100;
    int fcm_timeout_ms = 10000;
    // Campaigns: per-provider send rates (per minute, 0: none), marketing
    // frequency caps per channel ("3/24h", empty: none) and quiet hours
    // ("21:00-08:00" in the recipient's zone, empty: none).
    int rate_limit_fcm = 600000;
    int rate_limit_apns = 0;
    int rate_limit_smtp = 0;
    int rate_limit_twilio = 0;
    int rate_limit_sms_http = 0;
    std::string frequency_cap_email;
    std::string frequency_cap_sms;
    std::string frequency_cap_push;
    std::string quiet_hours;
    std::string push_ios_provider;  // empty: iOS devices use push_provider
    std::string apns_key_file;
    std::string apns_key_id;
    std::string apns_team_id;
    std::string apns_topic;
    std::string apns_endpoint = "https://api.push.apple.com";
    std::string apns_ca_file;
    int apns_expiration_s = 86400;
    int apns_max_concurrent = 100;
    int apns_timeout_ms = 10000;
    std::string twilio_url = "https://api.twilio.com";
    std::string twilio_account_sid;
    std::string twilio_auth_token;
    std::string twilio_from;
    std::string twilio_messaging_service_sid;
    std::string twilio_public_url;  // Kontor's URL as Twilio reaches it (callbacks, signatures)
    std::string sms_http_url;
    std::string sms_http_headers;  // "Name: value" lines
    std::string sms_http_body;
    std::string sms_http_id_path = "id";
    std::string sms_http_from;
    std::string sms_ca_file;
    int sms_timeout_ms = 10000;
    std::string webhook_url;
    std::string webhook_secret;
    std::string webhook_ca_file;
    // Events, preferences and signed links.
    std::string public_url;          // how customers reach Kontor (unsubscribe links)
    std::string preferences_secret;  // empty: generated once and kept in settings
  } messaging;
};

struct ConfigKey {
  const char* key;  // dotted TOML key, e.g. "http.threads"
  const char* env;  // environment variable
  const char* doc;
};

// Every key Config understands, for documentation and `kontor config`.
const std::vector<ConfigKey>& ConfigKeys();

// Loads defaults, then `path` (if non-empty), then the environment.
Result<Config> LoadConfig(const std::string& path);

// Applies one dotted key (used for files, env and tests).
Status SetConfigValue(Config* c, const std::string& key, const std::string& value);

}  // namespace kontor
