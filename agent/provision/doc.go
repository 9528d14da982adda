// Package provision registers a device at the Azure IoT Hub Device
// Provisioning Service over MQTT (PROTOCOL.md §6): it connects with the
// bootstrap credential (an X.509 certificate in the TLS handshake, or a
// symmetric-key SAS token), publishes the register request with an
// optional custom payload and certificate signing request, follows 202
// "assigning" answers by polling the operation status after each
// retry-after, honours 429 throttling, and returns the assigned hub, the
// device id and the issued operational certificate chain.
//
// The iothub SDK has no DPS client, so this package speaks the protocol on
// paho directly (DESIGN.md decision 3); it is the agent's only importer of
// paho outside agent/hub's SDK. The dial is a seam (DialFunc), as in
// agent/hub. The wire types (requests, RegistrationOperationStatus, error
// bodies, topic and user-name grammar) are exported because hubsim's DPS
// shares them, so both sides agree on bytes.
//
// Register is safe for concurrent use (each call has its own connection);
// it starts goroutines only inside paho and stops them before returning.
// It never logs credentials: tokens, keys and certificates stay out of log
// records and errors.
package provision
