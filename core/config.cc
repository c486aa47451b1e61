#include "core/config.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace lifeline {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\f'; }

void AppendUtf8(std::string* out, uint32_t cp) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Joins continuation lines: a line ending in an odd number of backslashes
// continues on the next line, whose leading blanks are dropped.
std::vector<std::string> LogicalLines(std::string_view text) {
  std::vector<std::string> lines;
  std::string current;
  bool continuing = false;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (continuing) {
      while (!line.empty() && IsBlank(line.front())) line.remove_prefix(1);
    }
    size_t slashes = 0;
    while (slashes < line.size() && line[line.size() - 1 - slashes] == '\\') ++slashes;
    if (slashes % 2 == 1) {
      current.append(line.substr(0, line.size() - 1));
      continuing = true;
    } else {
      current.append(line);
      lines.push_back(std::move(current));
      current.clear();
      continuing = false;
    }
    pos = end + 1;
  }
  if (continuing) lines.push_back(std::move(current));
  return lines;
}

// Unescapes one key or value; `stop_at_separator` ends a key at an unescaped
// '=', ':' or blank and reports where it stopped.
Result<std::string> Unescape(std::string_view in, bool stop_at_separator, size_t* consumed) {
  std::string out;
  size_t i = 0;
  for (; i < in.size(); ++i) {
    char c = in[i];
    if (stop_at_separator && (c == '=' || c == ':' || IsBlank(c))) break;
    if (c != '\\') {
      out.push_back(c);
      continue;
    }
    if (++i == in.size()) break;
    char e = in[i];
    switch (e) {
      case 't':
        out.push_back('\t');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 'f':
        out.push_back('\f');
        break;
      case 'u': {
        if (i + 4 >= in.size()) return Status::Usage("malformed \\u escape");
        uint32_t cp = 0;
        for (int k = 1; k <= 4; ++k) {
          char h = in[i + k];
          if (!std::isxdigit(static_cast<unsigned char>(h))) {
            return Status::Usage("malformed \\u escape");
          }
          cp = cp * 16 + (std::isdigit(static_cast<unsigned char>(h))
                              ? h - '0'
                              : std::tolower(static_cast<unsigned char>(h)) - 'a' + 10);
        }
        AppendUtf8(&out, cp);
        i += 4;
        break;
      }
      default:
        out.push_back(e);
    }
  }
  if (consumed) *consumed = i;
  return out;
}

}  // namespace

void ClientConfig::Set(std::string key, std::string value) {
  for (auto& [k, v] : props_) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  props_.emplace_back(std::move(key), std::move(value));
}

std::optional<std::string> ClientConfig::Get(std::string_view key) const {
  for (const auto& [k, v] : props_) {
    if (k == key) return v;
  }
  return std::nullopt;
}

void ClientConfig::Erase(std::string_view key) {
  std::erase_if(props_, [key](const auto& kv) { return kv.first == key; });
}

std::string ClientConfig::Describe() const {
  std::string out;
  for (const auto& [k, v] : props_) {
    if (!out.empty()) out.push_back(' ');
    out += k + "=" + RedactedValue(k, v);
  }
  return out;
}

bool IsSecretKey(std::string_view key) {
  const std::string k = Lower(key);
  return k.find("password") != std::string::npos || k.find("secret") != std::string::npos ||
         k == "sasl.jaas.config" || k == "ssl.key.pem" || k == "ssl_key" ||
         k == "sasl.oauthbearer.config";
}

std::string RedactedValue(std::string_view key, std::string_view value) {
  return IsSecretKey(key) ? std::string("*****") : std::string(value);
}

Result<std::pair<std::string, std::string>> ParseKeyValue(std::string_view text) {
  size_t eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return Status::Usage("expected key=value, got '" + std::string(text) + "'");
  }
  return std::make_pair(std::string(text.substr(0, eq)), std::string(text.substr(eq + 1)));
}

Result<std::vector<std::pair<std::string, std::string>>> ParseProperties(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  int line_no = 0;
  for (const std::string& raw : LogicalLines(text)) {
    ++line_no;
    std::string_view line = raw;
    while (!line.empty() && IsBlank(line.front())) line.remove_prefix(1);
    if (line.empty() || line.front() == '#' || line.front() == '!') continue;
    size_t consumed = 0;
    Result<std::string> key = Unescape(line, /*stop_at_separator=*/true, &consumed);
    if (!key.ok()) return key.status().WithContext("line " + std::to_string(line_no));
    std::string_view rest = line.substr(consumed);
    while (!rest.empty() && IsBlank(rest.front())) rest.remove_prefix(1);
    if (!rest.empty() && (rest.front() == '=' || rest.front() == ':')) rest.remove_prefix(1);
    while (!rest.empty() && IsBlank(rest.front())) rest.remove_prefix(1);
    Result<std::string> value = Unescape(rest, /*stop_at_separator=*/false, nullptr);
    if (!value.ok()) return value.status().WithContext("line " + std::to_string(line_no));
    if (key->empty()) return Status::Usage("line " + std::to_string(line_no) + ": empty key");
    out.emplace_back(std::move(key).value(), std::move(value).value());
  }
  return out;
}

Result<std::vector<std::pair<std::string, std::string>>> LoadPropertiesFile(
    const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return Status::Usage(path + ": is a directory; a configuration file is expected");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Usage(path + ": cannot read configuration file (does it exist?)");
  std::stringstream buf;
  buf << in.rdbuf();
  auto props = ParseProperties(buf.str());
  if (!props.ok()) return props.status().WithContext(path);
  return props;
}

Result<ClientConfig> BuildClientConfig(const ClientConfigInputs& inputs, std::string_view side) {
  ClientConfig config;
  for (const std::string& path : inputs.config_files) {
    LIFELINE_ASSIGN_OR_RETURN(auto props, LoadPropertiesFile(path));
    for (auto& [k, v] : props) config.Set(k, v);
  }
  for (const std::string& x : inputs.x_options) {
    auto kv = ParseKeyValue(x);
    if (!kv.ok()) return kv.status().WithContext("-X");
    auto [key, value] = std::move(kv).value();
    if (!side.empty()) {
      const size_t dot = key.find('.');
      const std::string_view prefix = std::string_view(key).substr(0, dot);
      if (dot != std::string::npos &&
          std::ranges::find(kClusterSides, prefix) != std::end(kClusterSides)) {
        if (prefix != side) continue;
        key.erase(0, dot + 1);
      }
    }
    config.Set(std::move(key), std::move(value));
  }
  if (!inputs.bootstrap.empty()) config.Set("bootstrap.servers", inputs.bootstrap);
  LIFELINE_RETURN_IF_ERROR(JavaClientSettings(&config));
  return config;
}

Result<ClientConfig> BuildSideConfig(const TwoClusterInputs& inputs, std::string_view side) {
  const bool is_source = side == "source";
  ClientConfigInputs one;
  one.bootstrap = is_source ? inputs.source : inputs.target;
  one.config_files = inputs.config_files;
  const auto& own = is_source ? inputs.source_files : inputs.target_files;
  one.config_files.insert(one.config_files.end(), own.begin(), own.end());
  one.x_options = inputs.x_options;
  return BuildClientConfig(one, side);
}

// ------------------------------------------------------- Java client settings

namespace {

// One login module entry of a JAAS configuration:
//   CLASS FLAG [KEY=VALUE ...];
// where a VALUE is a bare word or a double-quoted string (\" and \\ escape).
struct JaasEntry {
  std::string module;
  std::vector<std::pair<std::string, std::string>> options;
};

Result<JaasEntry> ParseJaas(std::string_view text) {
  size_t i = 0;
  auto skip_blanks = [&] {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  };
  auto word = [&] {
    const size_t start = i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i])) &&
           text[i] != '=' && text[i] != ';' && text[i] != '"') {
      ++i;
    }
    return std::string(text.substr(start, i - start));
  };
  // Never quotes the text: it holds a password.
  auto malformed = [](std::string_view what) {
    return Status::Usage(
        fmt::format("sasl.jaas.config: {}; expected e.g. org.apache.kafka.common.security.scram."
                    "ScramLoginModule required username=\"NAME\" password=\"SECRET\";",
                    what));
  };
  JaasEntry entry;
  skip_blanks();
  entry.module = word();
  skip_blanks();
  const std::string flag = word();
  if (entry.module.empty() || flag.empty()) return malformed("no login module and flag");
  static constexpr std::string_view kFlags[] = {"required", "requisite", "sufficient", "optional"};
  if (std::ranges::find(kFlags, Lower(flag)) == std::end(kFlags)) {
    return malformed("the login module's flag must be required, requisite, sufficient or optional");
  }
  for (;;) {
    skip_blanks();
    if (i == text.size()) return malformed("missing the closing ';'");
    if (text[i] == ';') break;
    std::string key = word();
    skip_blanks();
    if (key.empty() || i == text.size() || text[i] != '=') {
      return malformed("an option is not KEY=VALUE");
    }
    ++i;
    skip_blanks();
    std::string value;
    if (i < text.size() && text[i] == '"') {
      bool closed = false;
      for (++i; i < text.size(); ++i) {
        if (text[i] == '\\' && i + 1 < text.size()) {
          value.push_back(text[++i]);
        } else if (text[i] == '"') {
          closed = true;
          ++i;
          break;
        } else {
          value.push_back(text[i]);
        }
      }
      if (!closed) return malformed("a quoted value is not closed");
    } else {
      value = word();
    }
    entry.options.emplace_back(std::move(key), std::move(value));
  }
  ++i;
  skip_blanks();
  if (i != text.size()) return malformed("more than one login module (lifeline takes one)");
  return entry;
}

constexpr std::string_view kScramModule = "org.apache.kafka.common.security.scram.ScramLoginModule";
constexpr std::string_view kPlainModule = "org.apache.kafka.common.security.plain.PlainLoginModule";

Status MapJaas(ClientConfig* config) {
  const auto jaas = config->Get("sasl.jaas.config");
  if (!jaas) return Status::Ok();
  LIFELINE_ASSIGN_OR_RETURN(auto entry, ParseJaas(*jaas));
  if (entry.module != kScramModule && entry.module != kPlainModule) {
    return Status::Usage(fmt::format(
        "sasl.jaas.config: login module {} is not supported; lifeline (librdkafka) maps {} and "
        "{} (username= and password=) to sasl.username / sasl.password, or set those directly",
        entry.module, kScramModule, kPlainModule));
  }
  std::optional<std::string> user, password;
  for (auto& [k, v] : entry.options) {
    if (k == "username") {
      user = std::move(v);
    } else if (k == "password") {
      password = std::move(v);
    }
  }
  if (!user || !password) {
    return Status::Usage(
        fmt::format("sasl.jaas.config: {} needs both username= and password=", entry.module));
  }
  config->Erase("sasl.jaas.config");
  config->Set("sasl.username", std::move(*user));
  config->Set("sasl.password", std::move(*password));
  return Status::Ok();
}

// Java keystores start with 0xFEEDFEED; PKCS#12 files are DER (0x30).
bool IsJksFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char magic[4] = {0, 0, 0, 0};
  in.read(reinterpret_cast<char*>(magic), 4);
  return in.gcount() == 4 && magic[0] == 0xFE && magic[1] == 0xED && magic[2] == 0xFE &&
         magic[3] == 0xED;
}

// A PEM file (Java's ssl.truststore.type=PEM) starts with "-----BEGIN".
bool IsPemFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char head[10] = {};
  in.read(head, sizeof head);
  return in.gcount() == sizeof head && std::string_view(head, sizeof head) == "-----BEGIN";
}

Status MapStores(ClientConfig* config) {
  if (const auto algo = config->Get("ssl.endpoint.identification.algorithm");
      algo && algo->empty()) {
    config->Set("ssl.endpoint.identification.algorithm", "none");
  }
  if (const auto trust = config->Get("ssl.truststore.location")) {
    const auto type = config->Get("ssl.truststore.type");
    const bool pem = type ? Lower(*type) == "pem" : IsPemFile(*trust);
    if (pem && !config->Get("ssl.ca.location")) config->Set("ssl.ca.location", *trust);
    if (!config->Get("ssl.ca.location") && !config->Get("ssl.ca.pem")) {
      return Status::Usage(fmt::format(
          "ssl.truststore.location={}: a Java truststore, which librdkafka cannot read; export "
          "its CA certificate as PEM (keytool -list -rfc -keystore {} , or for PKCS12: openssl "
          "pkcs12 -in {} -nokeys -out ca.pem) and set ssl.ca.location=ca.pem instead",
          *trust, *trust, *trust));
    }
    // ssl.ca.location is what librdkafka uses; the Java settings beside it
    // are for Java clients sharing the file.
  }
  for (const char* key :
       {"ssl.truststore.location", "ssl.truststore.password", "ssl.truststore.type"}) {
    config->Erase(key);
  }
  const auto type = config->Get("ssl.keystore.type");
  const auto location = config->Get("ssl.keystore.location");
  if ((type && Lower(*type) == "jks") || (location && IsJksFile(*location))) {
    return Status::Usage(fmt::format(
        "ssl.keystore.location{}: a JKS keystore, which librdkafka cannot read; convert it "
        "(keytool -importkeystore -srckeystore FILE -destkeystore client.p12 -deststoretype "
        "PKCS12) and set ssl.keystore.location=client.p12, or use PEM files with "
        "ssl.certificate.location and ssl.key.location",
        location ? "=" + *location : std::string()));
  }
  if (type && Lower(*type) != "pkcs12") {
    return Status::Usage(fmt::format(
        "ssl.keystore.type={}: librdkafka reads PKCS12 keystores (ssl.keystore.location) or PEM "
        "files (ssl.certificate.location, ssl.key.location)",
        *type));
  }
  config->Erase("ssl.keystore.type");
  return Status::Ok();
}

}  // namespace

Status JavaClientSettings(ClientConfig* config) {
  LIFELINE_RETURN_IF_ERROR(MapJaas(config));
  return MapStores(config);
}

}  // namespace lifeline
