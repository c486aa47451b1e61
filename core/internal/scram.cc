#include "core/internal/scram.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <charconv>
#include <optional>
#include <vector>

namespace lifeline::internal {
namespace {

// Kafka's SCRAM credentials allow 4096..16384 iterations; a bound keeps a
// hostile server from making the client spin.
constexpr int kMaxIterations = 1 << 20;

const EVP_MD* Digest(bool sha512) { return sha512 ? EVP_sha512() : EVP_sha256(); }

std::string Hmac(bool sha512, std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(Digest(sha512), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return {reinterpret_cast<char*>(out), len};
}

std::string Hash(bool sha512, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, Digest(sha512), nullptr);
  return {reinterpret_cast<char*>(out), len};
}

// RFC 5802's saslname: '=' and ',' are escaped.
std::string SaslName(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (c == '=') {
      out += "=3D";
    } else if (c == ',') {
      out += "=2C";
    } else {
      out += c;
    }
  }
  return out;
}

// The value of attribute `key` ("r", "s", "i", "v", "e") of a SCRAM message.
std::optional<std::string_view> Attribute(std::string_view message, char key) {
  while (!message.empty()) {
    const size_t comma = message.find(',');
    std::string_view part = message.substr(0, comma);
    if (part.size() >= 2 && part[0] == key && part[1] == '=') return part.substr(2);
    if (comma == std::string_view::npos) break;
    message.remove_prefix(comma + 1);
  }
  return std::nullopt;
}

Status Refused(std::string_view what) {
  return Status::Infra(fmt::format("SCRAM: the broker's answer {}", what));
}

}  // namespace

std::string Base64Encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

Result<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return Status::Infra("not base64 (its length is not a multiple of 4)");
  std::string out(3 * text.size() / 4, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return Status::Infra("not base64");
  // EVP_DecodeBlock counts the padding as zero bytes.
  size_t pad = 0;
  for (size_t i = text.size(); i > 0 && text[i - 1] == '=' && pad < 2; --i) ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

Result<ScramClient> ScramClient::Create(std::string_view mechanism, std::string user,
                                        std::string password, std::string nonce) {
  ScramClient c;
  if (mechanism == "SCRAM-SHA-512") {
    c.sha512_ = true;
  } else if (mechanism != "SCRAM-SHA-256") {
    return Status::Usage(
        fmt::format("SCRAM mechanism '{}' is not one of SCRAM-SHA-256, SCRAM-SHA-512", mechanism));
  }
  if (nonce.empty()) {
    unsigned char raw[24];
    if (RAND_bytes(raw, sizeof raw) != 1)
      return Status::Infra("SCRAM: no random bytes for a nonce");
    nonce = Base64Encode(std::string_view(reinterpret_cast<char*>(raw), sizeof raw));
  }
  c.user_ = std::move(user);
  c.password_ = std::move(password);
  c.nonce_ = std::move(nonce);
  return c;
}

std::string ScramClient::ClientFirstBare() const {
  return fmt::format("n={},r={}", SaslName(user_), nonce_);
}

std::string ScramClient::ClientFirst() const { return "n,," + ClientFirstBare(); }

Result<std::string> ScramClient::ClientFinal(std::string_view server_first) {
  if (auto e = Attribute(server_first, 'e')) return Refused(fmt::format("is an error: {}", *e));
  const auto nonce = Attribute(server_first, 'r');
  const auto salt64 = Attribute(server_first, 's');
  const auto iterations_text = Attribute(server_first, 'i');
  if (!nonce || !salt64 || !iterations_text) return Refused("lacks r=, s= or i=");
  if (nonce->size() <= nonce_.size() || nonce->substr(0, nonce_.size()) != nonce_) {
    return Refused("does not extend the client's nonce");
  }
  int iterations = 0;
  const auto [end, ec] = std::from_chars(
      iterations_text->data(), iterations_text->data() + iterations_text->size(), iterations);
  if (ec != std::errc() || end != iterations_text->data() + iterations_text->size() ||
      iterations < 1 || iterations > kMaxIterations) {
    return Refused(fmt::format("has an unusable iteration count '{}'", *iterations_text));
  }
  auto salt = Base64Decode(*salt64);
  if (!salt.ok()) return Refused("has a salt that is not base64");

  const size_t size = static_cast<size_t>(EVP_MD_get_size(Digest(sha512_)));
  std::string salted(size, '\0');
  PKCS5_PBKDF2_HMAC(password_.data(), static_cast<int>(password_.size()),
                    reinterpret_cast<const unsigned char*>(salt->data()),
                    static_cast<int>(salt->size()), iterations, Digest(sha512_),
                    static_cast<int>(size), reinterpret_cast<unsigned char*>(salted.data()));
  const std::string client_key = Hmac(sha512_, salted, "Client Key");
  const std::string stored_key = Hash(sha512_, client_key);
  // "biws" is base64("n,,"): no channel binding.
  const std::string without_proof = fmt::format("c=biws,r={}", *nonce);
  const std::string auth_message =
      fmt::format("{},{},{}", ClientFirstBare(), server_first, without_proof);
  std::string proof = Hmac(sha512_, stored_key, auth_message);
  for (size_t i = 0; i < proof.size(); ++i) proof[i] ^= client_key[i];
  server_signature_ = Hmac(sha512_, Hmac(sha512_, salted, "Server Key"), auth_message);
  OPENSSL_cleanse(salted.data(), salted.size());
  return fmt::format("{},p={}", without_proof, Base64Encode(proof));
}

Status ScramClient::CheckServerFinal(std::string_view server_final) const {
  if (auto e = Attribute(server_final, 'e')) return Refused(fmt::format("is an error: {}", *e));
  const auto v = Attribute(server_final, 'v');
  if (!v) return Refused("lacks the server's signature (v=)");
  auto signature = Base64Decode(*v);
  if (server_signature_.empty() || !signature.ok() || *signature != server_signature_) {
    return Refused(
        "carries a server signature that does not match: not the broker that holds "
        "this user's credentials");
  }
  return Status::Ok();
}

}  // namespace lifeline::internal
