// Key Vault for the secrets the app cannot avoid: the Twilio auth token (Twilio has no Entra
// sign-in), the HMAC key for verification codes, and the credentials callers of the Verify v2
// API present (HTTP Basic, as Twilio's). Access is by Azure RBAC only, no access policies.
// Secret names allow only letters, digits and dashes, hence VerificationCodeSecret for the
// VERIFICATION_CODE_SECRET setting. The account SID is an identifier, not a secret; it is kept
// beside its token so that both halves of the credential come from one place.
param name string
param location string
param tags { *: string }
@secure()
param twilioAuthToken string
@secure()
param verificationCodeSecret string
param verifyApiAccountSid string
@secure()
param verifyApiAuthToken string

resource vault 'Microsoft.KeyVault/vaults@2026-05-15' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
    publicNetworkAccess: 'Enabled'
  }
}

resource twilioAuthTokenSecret 'Microsoft.KeyVault/vaults/secrets@2026-05-15' = {
  parent: vault
  name: 'TwilioAuthToken'
  properties: {
    value: twilioAuthToken
    contentType: 'Twilio auth token'
  }
}

resource verificationCodeSecretSecret 'Microsoft.KeyVault/vaults/secrets@2026-05-15' = {
  parent: vault
  name: 'VerificationCodeSecret'
  properties: {
    value: verificationCodeSecret
    contentType: 'HMAC key for verification codes'
  }
}

resource verifyApiAccountSidSecret 'Microsoft.KeyVault/vaults/secrets@2026-05-15' = {
  parent: vault
  name: 'VerifyApiAccountSid'
  properties: {
    value: verifyApiAccountSid
    contentType: 'Verify v2 API account SID (HTTP Basic user)'
  }
}

resource verifyApiAuthTokenSecret 'Microsoft.KeyVault/vaults/secrets@2026-05-15' = {
  parent: vault
  name: 'VerifyApiAuthToken'
  properties: {
    value: verifyApiAuthToken
    contentType: 'Verify v2 API auth token (HTTP Basic password)'
  }
}

output name string = vault.name
output twilioAuthTokenSecretName string = twilioAuthTokenSecret.name
output verificationCodeSecretName string = verificationCodeSecretSecret.name
output verifyApiAccountSidSecretName string = verifyApiAccountSidSecret.name
output verifyApiAuthTokenSecretName string = verifyApiAuthTokenSecret.name
