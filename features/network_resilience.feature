Feature: Delivery through unreliable hospital networks
  Hospital networks drop without warning: a switch fails, a firewall starts
  discarding traffic, a site loses its uplink. Nothing tells the device; its
  packets simply vanish. The device must keep every message it accepted and
  deliver it once the network is back, and a whole site coming back at once
  must not stampede the hub.

  @REQ-NET-001
  Scenario: A site losing its network loses no telemetry, and duplicates are counted exactly
    Given a hub and a fleet of 6 devices at 2 sites
    And the fleet has delivered telemetry
    When site "site-02" loses its network for 8 seconds
    And the fleet stops sampling
    Then within 30 seconds every device is connected and has no message waiting
    And every message the devices accepted was recorded by the hub
    And every message the hub recorded was accepted by a device, and each repeat is counted as a duplicate

  @REQ-NET-001
  Scenario: A site cut off for three minutes loses no telemetry
    Given a hub and a fleet of 4 devices at 2 sites
    And the fleet has delivered telemetry
    When site "site-02" loses its network for 180 seconds
    And the fleet stops sampling
    Then within 60 seconds every device is connected and has no message waiting
    And every message the devices accepted was recorded by the hub
    And every message the hub recorded was accepted by a device, and each repeat is counted as a duplicate

  @REQ-NET-002
  Scenario: A fleet reconnecting after a shared outage spreads its reconnects
    Given a hub and a fleet of 40 devices at 1 site
    When site "site-01" loses its network for 15 seconds
    Then within 60 seconds every device is connected again after the outage
    And no more than 50 percent of the devices reconnected within any one second

  @REQ-NET-003
  Scenario: The hub restarting loses no telemetry, and every device comes back by itself
    Given a hub and a fleet of 4 devices at 1 site
    And the fleet has delivered telemetry
    When the hub restarts and is unreachable for 2 seconds
    Then within 30 seconds every device is connected again after the outage
    When the fleet stops sampling
    Then within 30 seconds every device is connected and has no message waiting
    And every message the devices accepted was recorded by the hub
    And every message the hub recorded was accepted by a device, and each repeat is counted as a duplicate

  @REQ-NET-004
  Scenario: A device that loses power mid-burst delivers everything it had accepted
    Given a device agent "carto-0301" streaming telemetry from its durable store in its own process
    When the device loses power after it has accepted 150 messages
    And the device starts again on the same store
    Then within 30 seconds every message the device accepted before losing power reached the hub
