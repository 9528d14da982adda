Feature: Log delivery
  Service engineers need the device's logs, complete and verifiable, over
  hospital networks that drop without warning, and the device must never be
  slowed while a patient is on the table. The agent uploads logs through IoT
  Hub's file upload as gzip blocks, records every staged block so an
  interrupted upload continues where it stopped, reports the SHA-256 of what
  it uploaded, and holds every upload while a case is live and for the quiet
  period after it.

  @REQ-LOG-001
  Scenario: An on-demand upload of a device log arrives complete and verified
    Given a hub and a connected device "carto-0001"
    And the device has a 4 MB device log
    When the service requests the device's logs
    Then within 60 seconds the upload job is done
    And the hub holds the log as a blob with the SHA-256 the device reported
    And the blob decompresses to the device's original log, byte for byte
    And the hub received a file upload notification for the blob

  @REQ-LOG-002
  Scenario: An upload requested during a live case waits until the case ends and the quiet period passes
    Given a hub and a connected device "carto-0001"
    And the device has a 2 MB device log
    And a patient case is live on the device
    When the service requests the device's logs
    Then for 3 seconds the upload waits for the case and nothing reaches the hub
    When the patient case on the device ends
    Then within 60 seconds the upload job is done
    And the upload started only after the quiet period that followed the case
    And the blob decompresses to the device's original log, byte for byte

  @REQ-LOG-003
  Scenario: An upload interrupted by a network partition resumes from the last staged block
    Given a hub and a connected device "carto-0001"
    And the device has a 6 MB device log
    And the device's uploads are capped at 400 KB per second
    When the service requests the device's logs
    And the upload has staged 2 blocks
    And the device's hospital site loses its network connection
    And the upload notices the outage
    And the hospital site's network connection is restored
    Then within 60 seconds the upload job is done
    And at most 2 blocks were sent again, of 5 or more
    And the blob decompresses to the device's original log, byte for byte
    And the hub received a file upload notification for the blob

  @REQ-LOG-004
  Scenario: Patient identifiers are redacted before a log leaves the device
    Given a hub and a connected device "carto-0001"
    And the device has a device log naming 3 patients
    When the service requests the device's logs
    Then within 60 seconds the upload job is done
    And the uploaded log names no patient, MRN or date of birth, and the job reports 9 redactions
