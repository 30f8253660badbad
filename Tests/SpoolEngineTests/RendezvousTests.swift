import SpoolEngine
import Testing

/// How a cluster's nodes agree on each mapping's owner without talking to each other.
@Suite("Rendezvous ownership")
struct RendezvousTests {
    let units = (0..<600).map { "mapping-\($0)" }

    func owners(_ nodes: [String]) -> [String: String] {
        Dictionary(uniqueKeysWithValues: units.map { ($0, Rendezvous.owner(of: $0, among: nodes)!) })
    }

    @Test("every node computes the same owner whatever order it lists the nodes in, and units spread evenly")
    func spread() {
        let nodes = ["a", "b", "c"]
        #expect(owners(nodes) == owners(nodes.reversed()))
        let counts = Dictionary(grouping: owners(nodes).values, by: { $0 }).mapValues(\.count)
        #expect(counts.count == 3)
        for count in counts.values { #expect((140...260).contains(count), "about a third each: \(counts)") }
    }

    @Test("a joining node takes units only for itself; a leaving node's units go to the others and nothing else moves")
    func minimalMovement() {
        let before = owners(["a", "b", "c"])
        let joined = owners(["a", "b", "c", "d"])
        let moved = units.filter { before[$0] != joined[$0] }
        #expect(!moved.isEmpty)
        #expect(moved.allSatisfy { joined[$0] == "d" })
        let left = owners(["a", "c"])
        #expect(units.filter { before[$0] != "b" }.allSatisfy { before[$0] == left[$0] })
        #expect(Rendezvous.owner(of: "x", among: []) == nil)
    }
}
