curl "https://app.sipsim.com/api/v2/calls/12345" \
  -H "Authorization: Bearer YOUR_ACCESS_TOKEN"
