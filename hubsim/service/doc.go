// Package service owns hubsim's HTTPS API (PROTOCOL.md §3-4) as an
// http.Handler: the service REST calls of Azure IoT Hub (registry
// PUT/GET/DELETE /devices/{id} and GET /devices, twins GET/PATCH/PUT
// /twins/{id}, direct methods POST /twins/{id}/methods, queries POST
// /devices/query with x-ms-max-item-count / x-ms-continuation paging), the
// device file-upload calls (POST /devices/{id}/files and the two
// notification forms), and hubsim's own inspection API under /_sim/
// (recorded D2C events, C2D send, file notifications, and upload and
// download URLs for harness update files in the hub's blob store).
//
// Every service call needs a service SAS token (sr={hubHost}, skn={policy})
// whose policy has the operation's rights: registry reads RegistryRead,
// registry writes RegistryWrite, twins and queries ServiceConnect (or the
// registry rights), methods ServiceConnect, /_sim/ every right (iothubowner).
// Device calls take a device SAS token, a policy token with DeviceConnect,
// or the TLS client certificate (CA-signed with CN = device ID, or a
// self-signed device's thumbprint). IoT Hub api-versions are checked
// (Config.APIVersions). Errors go out in IoT Hub's format: header
// iothub-errorcode and {"Message":"ErrorCode:{Name};..","ExceptionMessage":
// "Tracking ID:.."}; a body that is not JSON is a 400.
//
// The handler holds no goroutines. What the registry cannot store yet
// (capabilities.iotEdge) is kept in a small map here. Direct methods,
// C2D and update publishing are reached through Config functions, so the
// package does not depend on the device-facing side. It imports the hub's
// stores (registry, twinstore, eventlog, blob, sas) and query; a Handler
// is safe for concurrent use.
package service
