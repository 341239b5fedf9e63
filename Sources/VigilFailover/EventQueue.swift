import VigilCore

/// A binary min-heap of timed entries; ties run in insertion order, so a run replays exactly.
struct EventQueue<Payload: Sendable>: Sendable {
    private struct Entry: Sendable {
        var time: UInt64
        var order: UInt64
        var payload: Payload
        func precedes(_ other: Entry) -> Bool {
            time < other.time || (time == other.time && order < other.order)
        }
    }

    private var heap: [Entry] = []
    private var counter: UInt64 = 0

    var isEmpty: Bool { heap.isEmpty }
    var nextTime: UInt64? { heap.first?.time }

    mutating func push(_ time: VirtualTime, _ payload: Payload) {
        counter &+= 1
        heap.append(Entry(time: time.nanoseconds, order: counter, payload: payload))
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard heap[i].precedes(heap[parent]) else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> (time: VirtualTime, payload: Payload)? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let top = heap.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1
            let r = l + 1
            var m = i
            if l < heap.count, heap[l].precedes(heap[m]) { m = l }
            if r < heap.count, heap[r].precedes(heap[m]) { m = r }
            if m == i { break }
            heap.swapAt(i, m)
            i = m
        }
        return (VirtualTime(nanoseconds: top.time), top.payload)
    }
}
