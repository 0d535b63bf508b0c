curl "https://app.sipsim.com/api/v2/calls?start_time=2024-01-01T00:00:00Z&tags=10,20" \
  -H "Authorization: Bearer YOUR_ACCESS_TOKEN"
