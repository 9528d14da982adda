Feature: The device keeps its identity alive
  An operational certificate lives for a limited time. The device renews it
  before it expires, through the provisioning service, with a new key it
  generated itself; and when the hub no longer knows it, the device goes
  back to the provisioning service with its bootstrap certificate instead
  of retrying a refused identity forever.

  Background:
    Given a provisioning service issuing operational certificates valid for 10 minutes

  @REQ-ID-005
  Scenario: The device renews its certificate before it expires
    Given a device agent "carto-0201" with only a bootstrap certificate has provisioned and connected
    When the device's clock passes 85 percent of its certificate's lifetime while no case is live
    Then within 20 seconds the agent has provisioned 2 times
    And the agent keeps delivering telemetry

  @REQ-ID-006
  Scenario: The device provisions again after the hub forgets it
    Given a device agent "carto-0202" with only a bootstrap certificate has provisioned and connected
    When the hub forgets the device
    Then within 30 seconds the agent has provisioned 2 times
    And the agent keeps delivering telemetry
