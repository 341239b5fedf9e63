import VigilCore

/// `vigil bench failover`: how fast the pair simulation runs. Wall-clock time is read here and only here:
/// it measures the kit, it never enters a model.
public enum FailoverBenchmark {
    public struct Figures: Sendable {
        /// Virtual seconds of the takeover scenario simulated per wall-clock second.
        public var simulatedSecondsPerWallSecond: Double
        public var takeoverRuns: Int
        /// Exhaustive-mode schedules explored per wall-clock second.
        public var schedulesPerWallSecond: Double
        public var schedulesExplored: Int
        public var violationsFound: Int
    }

    /// Runs for about `seconds` of wall time (half on each measure) and returns the figures.
    public static func measure(seconds: Double) -> Figures {
        let clock = ContinuousClock()
        let half = Duration.milliseconds(Int64(max(0.05, seconds / 2) * 1000))
        var configuration = PairConfiguration.reference
        configuration.recordsLog = false
        let takeover = FailoverScenario.takeover.schedule

        var runs = 0
        var virtual: UInt64 = 0
        var start = clock.now
        repeat {
            let sim = PairSimulation.run(takeover, configuration: configuration)
            virtual &+= sim.now.nanoseconds
            runs += 1
        } while clock.now - start < half
        let takeoverWall = wallSeconds(clock.now - start)

        // The exhaustive schedules of the standard bounds, run and checked one after another.
        var schedules: [Schedule] = []
        for scenario in FailoverExploration.ExhaustiveBounds.standard.scenarios {
            schedules += FailoverExploration.schedules(of: scenario, bounds: .standard)
        }
        var explored = 0
        var violations = 0
        start = clock.now
        repeat {
            let sim = PairSimulation.run(schedules[explored % schedules.count], configuration: configuration)
            explored += 1
            if !sim.violations.isEmpty { violations += 1 }
        } while clock.now - start < half
        let exploreWall = wallSeconds(clock.now - start)

        return Figures(
            simulatedSecondsPerWallSecond: Double(virtual) / 1e9 / max(takeoverWall, 1e-9), takeoverRuns: runs,
            schedulesPerWallSecond: Double(explored) / max(exploreWall, 1e-9), schedulesExplored: explored,
            violationsFound: violations)
    }

    /// Lines for the command line.
    public static func run(seconds: Double = 10) -> String {
        let f = measure(seconds: seconds)
        return """
            failover takeover scenario: \(Int(f.simulatedSecondsPerWallSecond)) simulated s per wall s (\(f.takeoverRuns) runs of \(FailoverScenario.takeover.schedule.duration))
            failover exhaustive exploration: \(Int(f.schedulesPerWallSecond)) schedules per wall s (\(f.schedulesExplored) schedules, \(f.violationsFound) violations)

            """
    }

    private static func wallSeconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}
