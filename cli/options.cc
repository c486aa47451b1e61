#include <iostream>

#include "cli/command.h"

namespace lifeline::cli {

Result<bool> ParseArgs(const std::vector<std::string>& args, const po::options_description& desc,
                       const char* usage, po::variables_map* vm,
                       const po::positional_options_description* positional) {
  po::options_description all(desc);
  all.add_options()("help,h", "show this help");
  try {
    po::command_line_parser parser(args);
    parser.options(all);
    if (positional) parser.positional(*positional);
    po::store(parser.run(), *vm);
    if (vm->count("help")) {
      std::cout << "usage: " << usage << "\n\n" << all << "\n";
      return false;
    }
    po::notify(*vm);
  } catch (const po::error& e) {
    return Status::Usage(std::string(e.what()) + " (see --help)");
  }
  return true;
}

void AddClusterOptions(po::options_description* desc, ClientConfigInputs* inputs) {
  desc->add_options()("bootstrap,b", po::value(&inputs->bootstrap)->value_name("HOST:PORT"),
                      "cluster bootstrap servers")(
      "config", po::value(&inputs->config_files)->value_name("FILE")->composing(),
      "librdkafka properties file (Java .properties syntax); repeatable")(
      "property,X", po::value(&inputs->x_options)->value_name("KEY=VALUE")->composing(),
      "librdkafka property, e.g. -X security.protocol=SASL_SSL; repeatable");
}

void AddTwoClusterOptions(po::options_description* desc, TwoClusterInputs* inputs) {
  desc->add_options()("source", po::value(&inputs->source)->value_name("HOST:PORT"),
                      "source cluster bootstrap servers")(
      "target", po::value(&inputs->target)->value_name("HOST:PORT"),
      "target cluster bootstrap servers")(
      "source-config", po::value(&inputs->source_files)->value_name("FILE")->composing(),
      "librdkafka properties file for the source; repeatable")(
      "target-config", po::value(&inputs->target_files)->value_name("FILE")->composing(),
      "librdkafka properties file for the target; repeatable")(
      "property,X", po::value(&inputs->x_options)->value_name("KEY=VALUE")->composing(),
      "librdkafka property for both sides, or one side with a source. / target. prefix; "
      "repeatable");
}

Result<ClientConfig> SideConfig(const TwoClusterInputs& inputs, std::string_view side) {
  const bool is_source = side == "source";
  ClientConfigInputs one;
  one.bootstrap = is_source ? inputs.source : inputs.target;
  one.config_files = is_source ? inputs.source_files : inputs.target_files;
  one.x_options = inputs.x_options;
  auto config = BuildClientConfig(one, side);
  if (!config.ok()) return config.status();
  if (config->bootstrap().empty()) {
    return Status::Usage(std::string("missing --") + std::string(side) +
                         " HOST:PORT (or bootstrap.servers in --" + std::string(side) +
                         "-config); the embedded sandbox is only for drills and demos");
  }
  return config;
}

Status BothSides(const TwoClusterInputs& inputs, ClientConfig* source, ClientConfig* target) {
  auto s = SideConfig(inputs, "source");
  if (!s.ok()) return s.status();
  auto t = SideConfig(inputs, "target");
  if (!t.ok()) return t.status();
  *source = std::move(s).value();
  *target = std::move(t).value();
  return Status::Ok();
}

Status MissingOption(const char* option, const char* fix) {
  return Status::Usage(std::string("missing ") + option + ": " + fix);
}

}  // namespace lifeline::cli
