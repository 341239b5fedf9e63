import VigilCore

/// Until the failover catalog lands, `vigil rules` shows no failover rules.
enum FailoverCatalogBridge {
    static let rules: [Rule] = []
    static let title = "Failover rule catalog (US 6,119,244)"
    static let preface = ""
}
