Feature: Only devices with trusted certificates may connect
  Every device proves its identity with an X.509 certificate issued by a
  certificate authority the hub trusts. A certificate from any other
  authority is refused, whichever device it claims to be, and refusing it
  does not disturb the devices that are already connected.

  Background:
    Given a hub and a connected device "carto-0001"

  @REQ-SEC-001
  Scenario: An impostor posing as a connected device is refused
    When an impostor connects as "carto-0001" with a certificate from an unknown CA
    Then the hub refuses the impostor
    And device "carto-0001" stays connected without reconnecting
    And within 5 seconds the hub records new telemetry from "carto-0001"

  @REQ-SEC-001
  Scenario: An impostor posing as a registered offline device is refused
    Given the hub also knows device "carto-0002", which is not connected
    When an impostor connects as "carto-0002" with a certificate from an unknown CA
    Then the hub refuses the impostor
    And the hub shows device "carto-0002" as not connected
    And device "carto-0001" stays connected without reconnecting
    And within 5 seconds the hub records new telemetry from "carto-0001"
