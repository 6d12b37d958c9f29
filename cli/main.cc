#include "cli/app.h"

int main(int argc, char** argv) { return certkeeper::cli::Main(argc, argv); }
