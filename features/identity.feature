Feature: Two-phase X.509 identity through the Device Provisioning Service
  A device leaves the factory with a bootstrap certificate that only the
  Device Provisioning Service trusts. With it the device registers, sends a
  certificate signing request for a key it generated itself, and receives an
  operational certificate, which is the only certificate the hub accepts.
  The private key never leaves the device.

  Background:
    Given a provisioning service that trusts only the bootstrap CA and a hub that trusts only the operational CA

  @REQ-ID-001
  Scenario: First boot: a device with only a bootstrap certificate provisions and connects
    Given device "carto-0101" has only a bootstrap certificate
    When the device provisions with a signing request for a key it generated
    Then the service assigns it to the hub with an operational certificate for that key
    And the device connects to the hub with its operational certificate
    And the hub records a message sent by "carto-0101"

  @REQ-ID-002
  Scenario: The hub refuses a bootstrap certificate
    Given device "carto-0102" has only a bootstrap certificate
    And the device provisions with a signing request for a key it generated
    When the device connects to the hub with its bootstrap certificate
    Then the hub refuses the device's identity
    And the hub shows device "carto-0102" as not connected

  @REQ-ID-003
  Scenario Outline: The provisioning service refuses a bad signing request
    Given device "carto-0103" has only a bootstrap certificate
    When the device provisions with a signing request that <defect>
    Then the service refuses the registration with status 400 naming "<reason>"
    And the hub does not know device "carto-0103"

    Examples:
      | defect                          | reason                        |
      | names another device            | is not the registration id    |
      | was tampered with after signing | csr signature does not verify |
      | uses a key weaker than P-384    | csr key ecdsa-p256 refused    |

  @REQ-ID-004
  Scenario: A disabled enrollment is refused with a clear reason
    Given device "carto-0104" has only a bootstrap certificate
    And the bootstrap enrollment group is disabled
    When the device provisions with a signing request for a key it generated
    Then the service answers that the registration is disabled
    And the hub does not know device "carto-0104"
