import RefNodeCore
import Testing

@Test func refnodeCoreLinks() {
    #expect(rn_version() == 1)
}
