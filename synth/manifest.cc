#include <fstream>
#include <nlohmann/json.hpp>

#include "synth/synth.h"

namespace lifeline::synth {

Status WriteManifest(const Manifest& manifest, const std::string& path) {
  nlohmann::ordered_json j;
  j["topic"] = manifest.topic;
  j["records"] = manifest.records;
  j["malformed"] = manifest.entries.size();
  auto& entries = j["entries"];
  entries = nlohmann::ordered_json::array();
  for (const ManifestEntry& e : manifest.entries) {
    entries.push_back({{"partition", e.partition},
                       {"offset", e.offset},
                       {"reason", e.reason},
                       {"event_id", e.event_id}});
  }
  std::ofstream out(path);
  out << j.dump(2) << "\n";
  if (!out.flush()) return Status::Infra(path + ": cannot write the manifest");
  return Status::Ok();
}

Result<Manifest> LoadManifest(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::Usage(path + ": cannot read the manifest (does it exist?)");
  try {
    nlohmann::json j = nlohmann::json::parse(in);
    Manifest m;
    m.topic = j.at("topic").get<std::string>();
    m.records = j.at("records").get<int64_t>();
    for (const auto& e : j.at("entries")) {
      m.entries.push_back({e.at("partition").get<int32_t>(), e.at("offset").get<int64_t>(),
                           e.at("reason").get<std::string>(), e.at("event_id").get<std::string>()});
    }
    return m;
  } catch (const nlohmann::json::exception& e) {
    return Status::Usage(path + ": not a lifeline manifest: " + e.what());
  }
}

}  // namespace lifeline::synth
