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

  @REQ-LOG-005
  Scenario: A 50 MB log set uploaded on demand through a network partition arrives complete and verified
    Given a hub and a connected device "carto-0001"
    And the device has a log set of 5 files of 10 MB each
    And the device's uploads are capped at 3000 KB per second
    When the service requests the device's logs
    And the upload has staged 4 blocks
    And the device's hospital site loses its network connection
    And the upload notices the outage
    And the hospital site's network connection is restored
    Then within 180 seconds the upload job is done
    And every file of the log set is held by the hub as a blob with the SHA-256 the device reported
    And every blob decompresses to its original file, byte for byte
    And the hub received a file upload notification for every blob

  @REQ-LOG-006
  Scenario: An upload in progress pauses within a second when a case starts and resumes after the quiet period
    Given a hub and a connected device "carto-0001"
    And the device has a 6 MB device log
    And the device's uploads are capped at 400 KB per second
    When the service requests the device's logs
    And the upload has staged 2 blocks
    And a patient case starts on the device
    Then within 1 second the upload stops, and for 3 seconds no more of it reaches the hub
    When the patient case on the device ends
    Then within 60 seconds the upload job is done
    And the upload started only after the quiet period that followed the case
    And the blob decompresses to the device's original log, byte for byte

  @REQ-LOG-007
  Scenario: A schedule set in the twin uploads the device's logs without anyone asking
    Given a hub and a connected device "carto-0001" that keeps a 1 MB CARTO log
    When the operator sets desired "logUploadIntervalSeconds" to 3600
    Then within 10 seconds the device reports "logUploadIntervalSeconds" with ac 200 at the desired version
    And within 60 seconds the device reports a scheduled log upload done
    And the hub holds every blob of the scheduled upload with the SHA-256 the device reported
