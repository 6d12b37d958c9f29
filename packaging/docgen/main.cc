// certkeeper-docgen: writes the documents generated from the command table.
//   certkeeper-docgen man TEMPLATE VERSION OUT     certkeeper(1) from TEMPLATE
//   certkeeper-docgen completion OUT               the bash completion script
// Build-time only; not installed.
#include <cstdio>
#include <string>

#include "base/fs.h"
#include "packaging/docgen/docgen.h"

int main(int argc, char** argv) {
  using namespace certkeeper;
  const std::string mode = argc > 1 ? argv[1] : "";
  std::string text;
  std::string out;
  if (mode == "man" && argc == 5) {
    auto page_template = fs::ReadFile(argv[2]);
    if (!page_template.ok()) {
      fprintf(stderr, "certkeeper-docgen: %s\n", page_template.status().ToString().c_str());
      return 1;
    }
    text = docgen::ManPage(*page_template, argv[3]);
    out = argv[4];
  } else if (mode == "completion" && argc == 3) {
    text = docgen::BashCompletion();
    out = argv[2];
  } else {
    fprintf(stderr,
            "usage: certkeeper-docgen man TEMPLATE VERSION OUT | completion OUT\n");
    return 1;
  }
  fs::WriteOptions options;
  options.mode = 0644;
  Status written = fs::WriteFileAtomic(out, text, options);
  if (!written.ok()) {
    fprintf(stderr, "certkeeper-docgen: %s\n", written.ToString().c_str());
    return 1;
  }
  return 0;
}
