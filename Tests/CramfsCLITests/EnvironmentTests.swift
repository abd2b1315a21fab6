import CramfsTestSupport
import Testing

/// Under CI nothing is skipped for lack of a tool: this names whatever the machine is missing, and the
/// gated suites run (and fail) anyway.
@Suite struct EnvironmentTests {
  @Test(.enabled(if: TestEnvironment.isCI, "only CI must have everything"))
  func ciHasEverythingTheTestsNeed() {
    let missing = TestEnvironment.missing
    #expect(missing.isEmpty, "this CI machine lacks: \(missing.joined(separator: "; "))")
  }
}
