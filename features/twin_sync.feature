Feature: Device configuration through the device twin
  An operator changes a device's configuration by setting desired properties
  in its device twin. The device applies each change it can accept and
  acknowledges it in its reported properties, the IoT Plug and Play way:
  the value in force, a status code ("ac": 200 applied, 400 rejected), the
  desired version it answers ("av") and, for a rejection, a reason ("ad").

  Background:
    Given a hub and a connected device "carto-0001"

  @REQ-TWIN-001
  Scenario: A desired change reaches a connected device and is acknowledged
    When the operator sets desired "telemetryIntervalSeconds" to 5
    Then within 10 seconds the device reports "telemetryIntervalSeconds" with ac 200 at the desired version
    And the reported value of "telemetryIntervalSeconds" is 5
    And the device samples telemetry every 5 seconds

  @REQ-TWIN-002
  Scenario: A change made while the device is offline is applied after it reconnects
    Given the device has applied desired "telemetryIntervalSeconds" of 5
    When the device's hospital site loses its network connection
    Then within 10 seconds both the device and the hub see the device as offline
    When the operator sets desired "telemetryIntervalSeconds" to 7
    Then for 2 seconds the change is not acknowledged and the device keeps sampling every 5 seconds
    When the hospital site's network connection is restored
    Then within 15 seconds the device is connected again
    And within 10 seconds the device reports "telemetryIntervalSeconds" with ac 200 at the desired version
    And the reported value of "telemetryIntervalSeconds" is 7
    And the device samples telemetry every 7 seconds

  @REQ-TWIN-003
  Scenario Outline: A desired value the device cannot accept is rejected and the previous value stays in force
    Given the device has applied desired "telemetryIntervalSeconds" of 5
    When the operator sets desired "telemetryIntervalSeconds" to the JSON value <desired>
    Then within 10 seconds the device reports "telemetryIntervalSeconds" with ac 400 at the desired version
    And the reason given names "telemetryIntervalSeconds" and says "<reason>"
    And the reported value of "telemetryIntervalSeconds" is 5
    And the device samples telemetry every 5 seconds

    Examples: values of the wrong type
      | desired          | reason      |
      | "fast"           | string      |
      | true             | boolean     |
      | {"seconds": 5}   | object      |

    Examples: numbers the device cannot use
      | desired | reason       |
      | 2.5     | whole number |
      | 0       | between      |
