-- wrk script: POST a new gateway on every request.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"l2_gateway":{"name":"bench","devices":[{"device_name":"sw1","interfaces":[{"name":"eth0","segmentation_id":[100]}]}]}}'
