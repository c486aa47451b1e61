#include "core/config.h"

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
      bool for_source = key.starts_with("source.");
      bool for_target = key.starts_with("target.");
      if (for_source || for_target) {
        if ((for_source ? "source" : "target") != side) continue;
        key = key.substr(key.find('.') + 1);
      }
    }
    config.Set(std::move(key), std::move(value));
  }
  if (!inputs.bootstrap.empty()) config.Set("bootstrap.servers", inputs.bootstrap);
  return config;
}

}  // namespace lifeline
