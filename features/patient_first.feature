Feature: Patient first: the agent holds update work around patient cases
  A CARTO 3 system must never be disturbed while it is processing a
  patient case. Here the real agent runs against the hub simulator with a
  virtual CARTO and its A/B software slots; an operator deploys a signed
  update through the device's twin (the deviceUpdate component). Pausable
  work (the download) stops within a second of a case starting; the new
  software activates only when no case is live, the quiet period after the
  last case has passed and the maintenance window (02:00-06:00 UTC) is
  open; a case state the device cannot tell counts as live.

  The agent's policy clock is the scenario's: the quiet period (the
  1-minute floor) and the window pass when a step says so; downloads,
  sockets and the one-second pause are real time.

  Background:
    Given a hub and an agent on a virtual CARTO with A/B slots, idle for longer than its quiet period

  @REQ-PF-001
  Scenario: A case starting mid-download pauses the download within a second
    Given the CARTO's maintenance window is open
    And the update server trickles the payload of "7.3.0"
    When the service deploys signed update "7.3.0" through the CARTO's twin
    And the CARTO is downloading the update
    And a patient case starts on the CARTO
    Then within 1 second the CARTO's download stops
    And for 2 seconds the CARTO downloads nothing and its twin says the update waits because "patient case live"
    When the patient case on the CARTO ends
    And the CARTO's quiet period passes
    Then within 15 seconds the CARTO runs "7.3.0" and its twin reports the update installed
    And the CARTO's download resumed where it stopped
    And no update work ran on the CARTO during its case beyond the first second

  @REQ-PF-002
  Scenario: An update ready during a case activates only after the case and the quiet period
    Given the CARTO's maintenance window is closed
    When the service deploys signed update "7.3.0" through the CARTO's twin
    Then within 10 seconds the CARTO has the update staged, waiting because "outside maintenance window"
    When a patient case starts on the CARTO
    And the CARTO's maintenance window opens
    Then for 2 seconds the CARTO keeps running "7.2.1" and its twin says the update waits because "patient case live"
    When the patient case on the CARTO ends
    Then for 2 seconds the CARTO keeps running "7.2.1" and its twin says the update waits because "quiet period after case"
    When the CARTO's quiet period passes
    Then within 10 seconds the CARTO runs "7.3.0" and its twin reports the update installed
    And the CARTO activated the update only after its case and the quiet period

  @REQ-PF-003
  Scenario: An unknown case state blocks activation
    Given the CARTO's maintenance window is closed
    When the service deploys signed update "7.3.0" through the CARTO's twin
    Then within 10 seconds the CARTO has the update staged, waiting because "outside maintenance window"
    When the CARTO can no longer tell whether a patient case is live
    And the CARTO's maintenance window opens
    Then for 2 seconds the CARTO keeps running "7.2.1" and its twin says the update waits because "case state unknown"
    And the CARTO's twin reports its guard state as "unknown"
    When the CARTO reports no patient case again
    And the CARTO's quiet period passes
    Then within 10 seconds the CARTO runs "7.3.0" and its twin reports the update installed
