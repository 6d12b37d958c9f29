// Anchors the test support library, whose helpers live in tests/support/.
namespace certkeeper::testing {
int SupportLibraryAnchor() { return 0; }
}  // namespace certkeeper::testing
