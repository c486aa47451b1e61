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

Status MissingOption(const char* option, const char* fix) {
  return Status::Usage(std::string("missing ") + option + ": " + fix);
}

}  // namespace lifeline::cli
