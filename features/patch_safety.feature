Feature: Patch safety: signed updates install safely and never disturb a patient case
  A CARTO 3 system receives security updates as signed deployments in the
  shape of Azure Device Update's deviceUpdate twin component. The agent
  verifies the signed manifest, downloads and checks every file, installs
  into the inactive software slot, and activates the new slot only when no
  patient case is live, the quiet period after the last case has passed,
  and the site's maintenance window (02:00-06:00 UTC here) is open. A new
  slot that fails its health check is rolled back. Every outcome is
  reported with ADU's result codes.

  These scenarios run the agent's update manager with a virtual CARTO
  device, a real update server and a real store file; the guard's clock is
  the scenario's, so the quiet period and the window pass in moments.

  Background:
    Given a virtual CARTO device running software "7.2.1" with A/B slots
    And the device has been idle for longer than the quiet period

  @REQ-UPD-001
  Scenario: A signed update installs and activates only when idle, after the quiet period, in the window
    Given it is outside the maintenance window
    When the operator deploys signed update "7.3.0" with release counter 8
    Then within 10 seconds the update is staged in the inactive slot, waiting because "outside maintenance window"
    When a patient case starts
    And the maintenance window opens
    Then for 1 second the device keeps running "7.2.1", waiting because "patient case live"
    When the patient case ends
    Then for 1 second the device keeps running "7.2.1", waiting because "quiet period after case"
    When the quiet period passes
    Then within 10 seconds the device runs "7.3.0" and reports the update installed
    And no activation happened during a case, in the quiet period or outside the window

  @REQ-UPD-002
  Scenario: A tampered update is rejected with a reason
    Given the maintenance window is open
    And the update server corrupts the payload of "7.3.0"
    When the operator deploys signed update "7.3.0" with release counter 8
    Then within 10 seconds the deployment fails with reason "file-hash"
    And the device still runs "7.2.1" and nothing new is in its inactive slot

  @REQ-UPD-003
  Scenario: A rollback attempt is rejected
    Given the maintenance window is open
    And the device has installed signed update "7.3.0" with release counter 8
    When the operator deploys signed update "7.2.5" with release counter 7
    Then within 10 seconds the deployment fails with reason "rollback"
    And the device still runs "7.3.0"

  @REQ-UPD-004
  Scenario: An update never activates during a live case
    Given the maintenance window is open
    And a patient case is live
    When the operator deploys signed update "7.3.0" with release counter 8
    Then for 2 seconds the device keeps running "7.2.1", waiting because "patient case live"
    When the patient case ends
    And the quiet period passes
    Then within 10 seconds the device runs "7.3.0" and reports the update installed
    And no activation happened during a case, in the quiet period or outside the window

  @REQ-UPD-004
  Scenario: A case starting mid-download pauses the download within a second
    Given the maintenance window is open
    And the update server sends "7.3.0" slowly
    When the operator deploys signed update "7.3.0" with release counter 8
    And the download is under way
    And a patient case starts
    Then within 1 second the download stops and nothing more is downloaded for 1 second
    When the patient case ends
    And the quiet period passes
    Then within 10 seconds the device runs "7.3.0" and reports the update installed
    And the download resumed where it stopped
    And no activation happened during a case, in the quiet period or outside the window

  @REQ-UPD-005
  Scenario: A failed health check rolls back to the previous slot and reports why
    Given the maintenance window is open
    And the new software's health check fails
    When the operator deploys signed update "7.3.0" with release counter 8
    Then within 10 seconds the device runs "7.2.1" again and reports the update rolled back with reason "health-check"

  @REQ-UPD-006
  Scenario Outline: Power loss at any step of an update recovers to a consistent state
    Given the maintenance window is open
    And the new software's health check <health>
    And the power will fail at "<step>"
    When the operator deploys signed update "7.3.0" with release counter 8
    And the power fails and the device reboots
    Then within 10 seconds the device runs "<version>" with its update <end>

    Examples:
      | step            | health | version | end         |
      | install         | passes | 7.3.0   | committed   |
      | activate-before | passes | 7.3.0   | committed   |
      | activate-after  | passes | 7.3.0   | committed   |
      | health-check    | passes | 7.3.0   | committed   |
      | commit-before   | passes | 7.3.0   | committed   |
      | commit-after    | passes | 7.3.0   | committed   |
      | rollback        | fails  | 7.2.1   | rolled back |
